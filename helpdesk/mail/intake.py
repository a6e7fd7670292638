"""The email intake pipeline, the same for every entry point (CLI import, API, IMAP poller).

1. ``store``: the raw email is committed before anything else can fail.
2. ``process``: parsed, threaded and recorded in a transaction of its own. Whatever goes
   wrong quarantines the email with the reason; nothing is lost, and ``reprocess`` tries
   again once the cause is fixed. Processing an email twice changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from helpdesk.chat_files import storage_dir
from helpdesk.errors import DomainError
from helpdesk.extensions import unit_of_work
from helpdesk.mail.parsing import UnparseableEmail
from helpdesk.models import InboundEmail, InboundState, IntakeOutcome
from helpdesk.services import email_intake
from helpdesk.services.email_intake import Source
from helpdesk.uow import UnitOfWork

__all__ = ["Outcome", "Source", "ingest", "process", "process_batch", "reprocess",
           "reprocess_quarantined", "store"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What became of one email."""

    inbound_id: int
    outcome: str
    conversation_id: int | None
    message_id: int | None
    thread_rule: str | None
    reason: str
    source: str

    @property
    def duplicate(self) -> bool:
        return self.outcome == IntakeOutcome.DUPLICATE

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.inbound_id, "source": self.source, "outcome": self.outcome,
                "conversation_id": self.conversation_id, "message_id": self.message_id,
                "thread_rule": self.thread_rule, "reason": self.reason}


def ingest(raw: bytes, source: Source) -> Outcome:
    """Store then process one raw email; a message stored before answers ``duplicate``
    (with the first copy's conversation), unless it was never processed: then it is."""
    with unit_of_work() as uow:
        stored = email_intake.store(uow, raw, source)
        if stored.earlier is not None and stored.earlier.state != InboundState.RECEIVED:
            return _duplicate(_outcome(stored.earlier), source)
    return process(stored.email_id)


def store(raw: bytes, source: Source) -> int:
    """Commit the raw email (once per message) and return its id, to ``process`` next."""
    with unit_of_work() as uow:
        return email_intake.store(uow, raw, source).email_id


def process(inbound_id: int) -> Outcome:
    """Process a stored email; any failure quarantines it with the reason."""
    with unit_of_work() as uow:
        try:
            email = email_intake.process(uow, inbound_id, storage=storage_dir())
        except Exception as exc:  # whatever it is, the email waits in the quarantine
            uow.rollback()
            email = email_intake.quarantine(uow, inbound_id, _reason(exc))
            _log_quarantined(email, exc)
        return _outcome(email)


def process_batch(inbound_ids: Sequence[int]) -> list[Outcome]:
    """Process stored emails in order, in one transaction. An email that would fail before
    writing anything (unreadable, or without a valid sender) is quarantined at once. Should
    another fail, the batch is processed again with each email in a savepoint of its own,
    so that it is quarantined alone; should that transaction fail as a whole, each email
    is processed in a transaction of its own."""
    try:
        return _processed_together(inbound_ids, _processed_unless_unprocessable)
    except Exception:  # whatever it was, the next attempt isolates it
        log.warning("an email of a batch of %d failed: the batch again, each email in a "
                    "savepoint", len(inbound_ids), exc_info=True)
    try:
        return _processed_together(inbound_ids, _processed_or_set_aside)
    except Exception:
        log.exception("a batch of %d emails failed: processing them one by one",
                      len(inbound_ids))
        return [process(i) for i in inbound_ids]


def _processed_together(inbound_ids: Sequence[int], process_one: Callable[
        [UnitOfWork, email_intake.Claimed], InboundEmail]) -> list[Outcome]:
    with unit_of_work() as uow, uow.one_transaction():
        return [_outcome(process_one(uow, c)) for c in email_intake.claim(uow, inbound_ids)]


def _processed_unless_unprocessable(uow: UnitOfWork,
                                    claimed: email_intake.Claimed) -> InboundEmail:
    """No savepoint (two statements an email): an email failing past the check fails the
    batch."""
    try:
        email_intake.check(claimed)
    except Exception as exc:  # whatever it is, the email waits in the quarantine
        return _set_aside(uow, claimed, exc)
    return email_intake.process_claimed(uow, claimed, storage=storage_dir())


def _processed_or_set_aside(uow: UnitOfWork, claimed: email_intake.Claimed) -> InboundEmail:
    try:
        with uow.savepoint():
            return email_intake.process_claimed(uow, claimed, storage=storage_dir())
    except Exception as exc:  # whatever it is, the email waits in the quarantine
        return _set_aside(uow, claimed, exc)


def _set_aside(uow: UnitOfWork, claimed: email_intake.Claimed,
               exc: Exception) -> InboundEmail:
    email = email_intake.set_aside(uow, claimed.email.id, _reason(exc))
    _log_quarantined(email, exc)
    return email


def _log_quarantined(email: InboundEmail, exc: Exception) -> None:
    log.warning("email %s quarantined: %s", email.id, email.reason,
                exc_info=not isinstance(exc, DomainError | UnparseableEmail))


def reprocess(inbound_id: int) -> Outcome:
    """Try a quarantined email again (a processed one only reports its outcome)."""
    with unit_of_work() as uow:
        email_intake.requeue(uow, inbound_id)
    return process(inbound_id)


def reprocess_quarantined() -> list[Outcome]:
    """Try every quarantined email again, oldest first."""
    with unit_of_work() as uow:
        ids = [e.id for e in email_intake.quarantined(uow.session)]
    return [reprocess(i) for i in ids]


def _duplicate(first: Outcome, source: Source) -> Outcome:
    return Outcome(first.inbound_id, IntakeOutcome.DUPLICATE.value, first.conversation_id,
                   first.message_id, first.thread_rule,
                   f"already received as email {first.inbound_id} ({first.outcome})",
                   source.reference)


def _reason(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    if isinstance(exc, UnparseableEmail):
        return f"unparseable: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _outcome(email: InboundEmail) -> Outcome:
    return Outcome(email.id, email.outcome.value if email.outcome else email.state.value,
                   email.conversation_id, email.message_id,
                   email.thread_rule.value if email.thread_rule else None, email.reason,
                   email.source_ref)
