"""Load the demo through the real services, each step at the moment it happened."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.demo.brand import (
    ADMIN,
    ATTRIBUTES,
    BRAND,
    CUSTOMERS,
    ORGANISATIONS,
    QUEUES,
    STAFF,
    CustomerSpec,
    QueueSpec,
    StaffMember,
)
from helpdesk.demo.script import Cast, Say, Step, StoryRun
from helpdesk.demo.stories import STORIES, Story
from helpdesk.errors import Conflict
from helpdesk.events import SYSTEM
from helpdesk.models import Channel, Conversation, Owner, Queue, Role, Site, User
from helpdesk.orm import clock_at, utcnow
from helpdesk.services import (
    conversations,
    custom_fields,
    customers,
    organisations,
    queues,
    sites,
    staff,
)
from helpdesk.uow import UnitOfWork

SEED = 1789
DEMO_CHAT_QUEUE = "Support EN"
# Seconds between two steps of a story, by channel; email threads move in hours.
PACE = {Channel.CHAT: (15, 150), Channel.PHONE: (45, 240)}
EMAIL_PACE = (25 * 60, 5 * 3600)
ACTION_PACE = (5, 90)
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY3469"  # noqa: S105


class DemoState(StrEnum):
    ABSENT = "absent"
    LOADED = "loaded"
    PARTIAL = "partial"


class DemoAlreadyLoaded(Conflict):
    code = "demo_loaded"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: Role
    name: str
    password: str


@dataclass(frozen=True)
class DemoSummary:
    brand: str
    logins: list[DemoLogin]
    queues: int
    customers: int
    conversations: int


def demo_state(session: Session) -> DemoState:
    """Whether the demo is in this database (its admin is created last, as the marker)."""
    emails = set(session.scalars(select(User.email).where(User.email.in_(
        [member.email for member in STAFF]))))
    if ADMIN.email in emails:
        return DemoState.LOADED
    return DemoState.PARTIAL if emails else DemoState.ABSENT


def load_demo(uow: UnitOfWork, *, now: datetime | None = None, seed: int = SEED) -> DemoSummary:
    """Create Maison Lumière's staff, queues, customers and history; return the staff logins.

    The content is the same on every load (seeded); only the passwords are random.
    """
    _check_absent(uow.session)
    now = now or utcnow()
    rng = random.Random(seed)  # noqa: S311  (content only)
    timed = sorted(((_schedule(story, rng, now), story) for story in STORIES),
                   key=lambda pair: pair[0][0])
    founded = now - timedelta(days=600)
    with clock_at(founded):
        team = {member.key: _create_staff(uow, member) for member in STAFF if member is not ADMIN}
        staff_ids = {key: user.id for key, (_login, user) in team.items()}
        queue_ids = {spec.name: _create_queue(uow, spec, staff_ids) for spec in QUEUES}
        ensure_demo_site(uow)
        organisation_ids = _create_attributes_and_organisations(uow)
    customer_ids = _create_customers(uow, rng, now, timed)
    _add_members(uow, organisation_ids, customer_ids)
    cast = Cast(staff_ids, queue_ids, customer_ids)
    for times, story in timed:
        _play(uow, cast, story, times)
    with clock_at(founded):
        admin_login, _admin = _create_staff(uow, ADMIN)
    logins = [admin_login, *(login for login, _user in team.values())]
    return DemoSummary(BRAND, sorted(logins, key=lambda login: list(Role).index(login.role)),
                       len(QUEUES), len(customer_ids), len(STORIES))


def ensure_demo_site(uow: UnitOfWork) -> Site:
    """The brand's website, whose chat goes to its English support queue (the widget on
    ``/demo``); created when missing, so an older demo database gets it too."""
    site = uow.session.scalar(select(Site).where(Site.name == BRAND))
    if site is not None:
        return site
    queue_id = uow.session.scalar(select(Queue.id).where(Queue.name == DEMO_CHAT_QUEUE))
    return sites.create_site(uow, SYSTEM, name=BRAND, queue_id=queue_id, language="en")


def new_password() -> str:
    """A random password that reads well when printed (no look-alike characters)."""
    return "-".join("".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(4))
                    for _ in range(3))


def _check_absent(session: Session) -> None:
    state = demo_state(session)
    if state is DemoState.LOADED:
        raise DemoAlreadyLoaded(f"the {BRAND} demo is already loaded ({ADMIN.email} exists)")
    if state is DemoState.PARTIAL:
        raise Conflict(f"a previous demo load stopped half-way (some {BRAND} staff exist but "
                       f"not {ADMIN.email}); load the demo into an empty database")


def _create_staff(uow: UnitOfWork, member: StaffMember) -> tuple[DemoLogin, User]:
    password = new_password()
    user = staff.create_user(uow, SYSTEM, email=member.email, name=member.name,
                             role=member.role, password=password, locale=member.locale,
                             skills=list(member.skills), capacity=dict(member.capacity))
    return DemoLogin(member.email, member.role, member.name, password), user


def _create_queue(uow: UnitOfWork, spec: QueueSpec, staff_ids: dict[str, int]) -> int:
    queue = queues.create_queue(
        uow, SYSTEM, name=spec.name, description=spec.description,
        channels=[c.value for c in spec.channels], routing_strategy=spec.routing,
        member_ids=[staff_ids[key] for key in spec.members])
    return queue.id


def _create_attributes_and_organisations(uow: UnitOfWork) -> dict[str, int]:
    """The customer attributes and the organisations (before the customers, whose email
    domains link them); returns the organisations' ids by name."""
    for spec in ATTRIBUTES:
        custom_fields.create_field(uow, SYSTEM, key=spec.key, label=spec.label, type=spec.type,
                                   options=spec.options, subject=spec.subject)
    return {spec.name: organisations.create_organisation(
        uow, SYSTEM, name=spec.name, domains=list(spec.domains), notes=spec.notes,
        attributes=dict(spec.attributes)).id for spec in ORGANISATIONS}


def _add_members(uow: UnitOfWork, organisation_ids: dict[str, int],
                 customer_ids: dict[str, int]) -> None:
    for spec in ORGANISATIONS:
        for member in spec.members:
            organisations.add_member(uow, SYSTEM, organisation_ids[spec.name],
                                     customer_ids[member])


def _create_customers(uow: UnitOfWork, rng: random.Random, now: datetime,
                      timed: list[tuple[list[datetime], Story]]) -> dict[str, int]:
    """Each customer exists before their first contact (a walk-in, just before it)."""
    first_contact = {}
    for times, story in timed:
        first_contact.setdefault(story.customer, times[0])
    ids = {}
    for spec in CUSTOMERS:
        contact = first_contact.get(spec.key, now)
        since = timedelta(minutes=1) if spec.walk_in else timedelta(days=rng.uniform(30, 500))
        with clock_at(contact - since):
            ids[spec.key] = _create_customer(uow, spec)
    return ids


def _create_customer(uow: UnitOfWork, spec: CustomerSpec) -> int:
    customer = customers.create_customer(
        uow, SYSTEM, name=spec.name, identities=list(spec.identities), language=spec.language,
        timezone=spec.timezone, attributes=dict(spec.attributes), consents=dict(spec.consents))
    return customer.id


def _play(uow: UnitOfWork, cast: Cast, story: Story, times: list[datetime]) -> None:
    """Open the story's conversation with its first step, then apply the others in time."""
    run = StoryRun(uow, cast, cast.customers[story.customer], story.channel,
                   cast.queues[story.queue])
    with clock_at(times[0]):
        run.conversation_id = _open(run, story).id
    for step, moment in zip(story.steps[1:], times[1:], strict=True):
        with clock_at(moment):
            step.apply(run)


def _open(run: StoryRun, story: Story) -> Conversation:
    first = story.opening
    return conversations.open_conversation(
        run.uow, run.actor(first.who), customer_id=run.customer_id, channel=story.channel,
        subject=story.subject, priority=story.priority,
        queue_id=None if story.with_bot else run.queue_id,
        owner=Owner.BOT if story.with_bot else Owner.QUEUE, first_message=first.message(run))


def _schedule(story: Story, rng: random.Random, now: datetime) -> list[datetime]:
    """When each step happens: from ``days_ago`` on, at the channel's pace, ending in the past."""
    start = now - timedelta(days=story.days_ago)
    if story.days_ago >= 1:
        start = start.replace(hour=rng.randint(7, 17), minute=rng.randint(0, 59))
    offsets, elapsed = [], timedelta(0)
    for index, step in enumerate(story.steps):
        if index:
            elapsed += _gap(step, story.channel, rng)
        offsets.append(elapsed)
    latest_end = now - timedelta(minutes=2)
    start = min(start, latest_end - elapsed)
    return [start + offset for offset in offsets]


def _gap(step: Step, channel: Channel, rng: random.Random) -> timedelta:
    if step.after_hours is not None:
        return timedelta(hours=step.after_hours, seconds=rng.randint(0, 1800))
    if isinstance(step, Say):
        low, high = PACE.get(step.channel or channel, EMAIL_PACE)
    else:
        low, high = ACTION_PACE
    return timedelta(seconds=rng.randint(low, high))
