"""Satisfaction in real Chromium: the widget asks for a rating inline once the chat is
solved, lets the customer change it for 7 days, and hides it when the chat reopens; a
rating link of the solved email opens the rating page, which records the rating only when
the customer confirms it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from helpdesk.events import SYSTEM
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import (
    Channel,
    Conversation,
    ConversationStatus,
    OutboundEmail,
    OutboundKind,
    TimelineEvent,
)
from helpdesk.services import conversations
from tests.e2e.browser.test_chat_widget import BRAND, say

pytestmark = pytest.mark.browser


def solve(app, conversation_id: int) -> None:
    with app.app_context(), unit_of_work() as uow:
        conversations.change_status(uow, SYSTEM, conversation_id, ConversationStatus.SOLVED)


def rated(app) -> tuple[int | None, str, list[str]]:
    with app.app_context():
        conversation = db.session.scalar(select(Conversation))
        types = db.session.scalars(select(TimelineEvent.type).where(
            TimelineEvent.type.like("conversation.rat%")).order_by(TimelineEvent.id)).all()
        return conversation.csat_rating, conversation.csat_comment, list(types)


def test_the_widget_asks_for_a_rating_once_solved_and_it_can_change(live_server, browser):
    make, app = live_server.make, live_server.app
    make.site(name=BRAND, language="en", bot_enabled=False)
    page = browser.new_context().new_page()
    page.goto(f"{live_server.url}/demo?lang=en")
    page.get_by_test_id("chat-launcher").click()
    say(page, "My lamp flickers")
    expect(page.get_by_test_id("chat-message")).to_have_count(1)
    expect(page.locator("[data-pending]")).to_have_count(0)  # stored
    with app.app_context():
        conversation_id = db.session.scalar(select(Conversation.id))
    solve(app, conversation_id)

    form = page.get_by_test_id("chat-csat-form")
    expect(form).to_be_visible()
    page.get_by_test_id("chat-csat-star-4").click()
    form.get_by_label("Comment (optional)").fill("Quick, thanks")
    form.get_by_role("button", name="Send my rating").click()
    expect(form.get_by_text("Thank you for your rating!")).to_be_visible()
    assert rated(app) == (4, "Quick, thanks", ["conversation.rated"])

    page.get_by_test_id("chat-csat-change").click()
    page.get_by_test_id("chat-csat-star-2").click()
    form.get_by_role("button", name="Send my rating").click()
    expect(form.get_by_text("Thank you for your rating!")).to_be_visible()
    assert rated(app) == (2, "Quick, thanks", ["conversation.rated",
                                               "conversation.rating_changed"])

    given_eight_days_ago(app, conversation_id)
    page.reload()
    page.get_by_test_id("chat-launcher").click()
    expect(form.get_by_text("Thank you for your rating!")).to_be_visible()
    expect(page.get_by_test_id("chat-csat-change")).to_be_hidden()  # the 7 days are over


def test_a_reopened_chat_hides_the_rating_form(live_server, browser):
    make, app = live_server.make, live_server.app
    make.site(name=BRAND, language="en", bot_enabled=False)
    page = browser.new_context().new_page()
    page.goto(f"{live_server.url}/demo?lang=en")
    page.get_by_test_id("chat-launcher").click()
    say(page, "My lamp flickers")
    expect(page.locator("[data-pending]")).to_have_count(0)
    with app.app_context():
        conversation_id = db.session.scalar(select(Conversation.id))
    solve(app, conversation_id)
    form = page.get_by_test_id("chat-csat-form")
    expect(form).to_be_visible()
    say(page, "It flickers again")  # the customer writes: the conversation reopens
    expect(form).to_be_hidden()
    assert rated(app) == (None, "", [])


def survey_html(app, conversation_id: int) -> str:
    with app.app_context():
        return db.session.scalar(select(OutboundEmail.html).where(
            OutboundEmail.conversation_id == conversation_id,
            OutboundEmail.kind == OutboundKind.SOLVED_SURVEY))


def given_eight_days_ago(app, conversation_id: int) -> None:
    with app.app_context(), unit_of_work() as uow:
        conversation = uow.session.get(Conversation, conversation_id)
        conversation.csat_given_at -= timedelta(days=8)
        uow.commit()


def test_the_email_link_opens_the_page_and_only_the_button_records(live_server, browser):
    make, app = live_server.make, live_server.app
    app.config["COMPTOIR"] = replace(app.config["COMPTOIR"], mail_from="help@shop.example",
                                     public_url=live_server.url)
    conversation = make.conversation(subject="Broken shade", channel=Channel.EMAIL)
    solve(app, conversation.id)
    page = browser.new_context().new_page()
    page.set_content(survey_html(app, conversation.id))  # the email as the customer reads it
    page.get_by_role("link", name="5 · Very satisfied").click()
    expect(page.get_by_role("heading", name="How did we do?")).to_be_visible()
    expect(page.get_by_label("5 · Very satisfied")).to_be_checked()
    assert rated(app) == (None, "", [])
    page.get_by_label("Comment (optional)").fill("The new shade fits")
    page.get_by_role("button", name="Send my rating").click()
    expect(page.get_by_test_id("rating-thanks")).to_be_visible()
    expect(page.get_by_label("5 · Very satisfied")).to_be_checked()
    assert rated(app) == (5, "The new shade fits", ["conversation.rated"])
