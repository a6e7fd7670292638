"""The widget with the Rasa engine (a fake Rasa), in real Chromium: quick replies and
images render, as text and checked URLs only, and a pressed button sends Rasa its payload
while the customer sees its title."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from bot import responder
from bot.rasa_engine import RasaEngine
from tests.e2e.browser.test_chat_widget import messages, say
from tests.fakes import FakeRasaClient, ScriptedEngine

pytestmark = pytest.mark.browser
IMAGE = "http://127.0.0.1:9/orbe.png"  # nothing listens: the picture fails fast, offline


def test_buttons_and_an_image_from_rasa(live_server, browser):
    rasa = FakeRasaClient([
        {"text": "Is it about an order?", "buttons": [
            {"title": "<b>Yes</b>", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]},
        {"image": IMAGE}, {"image": "http://127.0.0.1:9/a.png", "text": "A lamp"}])
    responder.init_app(live_server.app, lambda: RasaEngine(rasa, ScriptedEngine()))
    live_server.make.site(name="Maison Lumière", language="en")
    customer = browser.new_context().new_page()
    customer.goto(f"{live_server.url}/demo?lang=en")
    customer.get_by_test_id("chat-launcher").click()
    say(customer, "hello")

    bot = messages(customer, "bot")
    expect(bot).to_have_count(3)
    expect(bot.nth(0).get_by_test_id("chat-option")).to_have_text(["<b>Yes</b>", "No"])
    picture = bot.nth(1).get_by_test_id("chat-image")
    expect(picture).to_have_attribute("src", IMAGE)
    expect(picture).to_have_attribute("alt", "Image sent by the assistant")
    expect(bot.nth(1).locator(".cw-body")).to_have_count(0)  # the URL body is not repeated
    expect(bot.nth(2).locator(".cw-body")).to_have_text("A lamp")

    rasa.answer = [{"text": "What is the order number?"}]
    bot.nth(0).get_by_role("button", name="<b>Yes</b>").click()
    expect(messages(customer, "customer").last).to_contain_text("<b>Yes</b>")
    expect(bot).to_have_count(4)
    assert rasa.sent[-1][1] == "/affirm"
    expect(bot.nth(0).get_by_test_id("chat-option").first).to_be_hidden()  # answered
