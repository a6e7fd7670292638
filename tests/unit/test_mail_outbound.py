"""Outgoing mail without a database: the MIME built from an outbox row, the templates, the
retry schedule and the mail settings."""

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from markupsafe import Markup

from config.settings import ConfigError, load_settings
from helpdesk.mail.outbound import (
    SmtpMailer,
    build_mime,
    mailer_from_settings,
    new_message_id,
    paragraphs,
    render_mail,
)
from helpdesk.models import MailboxSecurity, OutboundEmail, OutboundKind
from helpdesk.services.outbox import MAX_ATTEMPTS, retry_delay

NOW = datetime(2026, 11, 26, 14, 30, tzinfo=UTC)


def outbound(**fields) -> OutboundEmail:
    values = {
        "conversation_id": 42, "kind": OutboundKind.AGENT_REPLY, "from_name": "Maison Lumière",
        "from_address": "support@shop.example", "to_address": "ada@example.com",
        "cc_addresses": [], "reply_to": "support+42-abcdefghij@shop.example",
        "subject": "Re: Où est mon colis ? [#42-abcdefghij]",
        "rfc_message_id": "comptoir.42.f00d@shop.example", "in_reply_to": None,
        "references": [], "text": "Il est parti hier.\n", "html": "<p>Il est parti hier.</p>",
        "auto_submitted": False}
    return OutboundEmail(**(values | fields))


def sent_bytes(mail: OutboundEmail):
    """The message as a receiver parses it."""
    return message_from_bytes(build_mime(mail, NOW).as_bytes(), policy=policy.default)


# --- MIME ---------------------------------------------------------------------------------


def test_the_headers_name_sender_recipients_reply_address_and_message_id():
    received = sent_bytes(outbound(cc_addresses=["bob@example.com", "eve@example.com"]))
    assert received["From"] == "Maison Lumière <support@shop.example>"
    assert (received["To"], received["Cc"]) == ("ada@example.com",
                                                "bob@example.com, eve@example.com")
    assert received["Reply-To"] == "support+42-abcdefghij@shop.example"
    assert received["Subject"] == "Re: Où est mon colis ? [#42-abcdefghij]"
    assert received["Message-ID"] == "<comptoir.42.f00d@shop.example>"
    assert received["Date"] == "Thu, 26 Nov 2026 14:30:00 +0000"


def test_threading_headers_name_the_mail_replied_to_and_the_thread():
    received = sent_bytes(outbound(in_reply_to="b@mail.example",
                                   references=["a@mail.example", "b@mail.example"]))
    assert received["In-Reply-To"] == "<b@mail.example>"
    assert received["References"] == "<a@mail.example> <b@mail.example>"


def test_a_first_mail_has_no_threading_headers():
    received = sent_bytes(outbound())
    assert (received["In-Reply-To"], received["References"], received["Cc"]) == (
        None, None, None)


def test_a_text_and_an_html_part_both_carry_the_accents():
    received = sent_bytes(outbound())
    assert received.get_content_type() == "multipart/alternative"
    text, html = received.iter_parts()
    assert (text.get_content_type(), text.get_content()) == ("text/plain",
                                                             "Il est parti hier.\n")
    assert html.get_content_type() == "text/html"
    assert html.get_content().strip() == "<p>Il est parti hier.</p>"
    assert {p["Content-Transfer-Encoding"] for p in (text, html)} == {"quoted-printable"}


@pytest.mark.parametrize(("kind", "automatic"), [
    (OutboundKind.AGENT_REPLY, False), (OutboundKind.ACKNOWLEDGEMENT, True),
    (OutboundKind.SOLVED_SURVEY, True)])
def test_only_automatic_mail_says_so(kind, automatic):
    received = sent_bytes(outbound(kind=kind, auto_submitted=kind.automatic))
    assert kind.automatic is automatic
    assert received["Auto-Submitted"] == ("auto-replied" if automatic else None)
    assert received["X-Auto-Response-Suppress"] == ("All" if automatic else None)


def test_a_message_id_is_fresh_and_at_the_senders_domain():
    first, second = (new_message_id("support@shop.example", 42) for _ in range(2))
    assert first != second
    assert first.startswith("comptoir.42.") and first.endswith("@shop.example")


# --- templates ----------------------------------------------------------------------------


def reply_context(body: str, **extra) -> dict:
    return {"body": body, "body_html": None, "body_paragraphs": paragraphs(body),
            "agent_name": "Bob", "topic": "Where is my parcel?", "reference": 42} | extra


def test_the_html_part_escapes_what_people_wrote():
    mail = render_mail(OutboundKind.AGENT_REPLY, "en", reply_context(
        "Use <script>alert(1)</script> & co\nthen wait.\n\nRegards", agent_name="<b>Bob</b>",
        topic="<img src=x onerror=alert(1)>"))
    assert "<script>" not in mail.html and "<img" not in mail.html and "<b>Bob" not in mail.html
    assert ("<p style=\"margin:0 0 1em\">Use &lt;script&gt;alert(1)&lt;/script&gt; &amp; co"
            "<br>then wait.</p>") in mail.html
    assert "<title>Re: &lt;img src=x onerror=alert(1)&gt;</title>" in mail.html
    assert mail.text.startswith("Use <script>alert(1)</script> & co\nthen wait.\n\nRegards\n")


def test_sanitized_html_of_a_reply_is_kept_as_html():
    mail = render_mail(OutboundKind.AGENT_REPLY, "en", reply_context(
        "Thanks", body_html=Markup("<p>Thanks <strong>a lot</strong></p>")))
    assert "<p>Thanks <strong>a lot</strong></p>" in mail.html


def test_a_reply_subject_gets_one_re():
    assert render_mail(OutboundKind.AGENT_REPLY, "en", reply_context("x")).subject == (
        "Re: Where is my parcel?")
    assert render_mail(OutboundKind.AGENT_REPLY, "en", reply_context(
        "x", topic="RE: Where is my parcel?")).subject == "RE: Where is my parcel?"
    assert render_mail(OutboundKind.AGENT_REPLY, "en", reply_context(
        "x", topic="")).subject == "Our answer to your request"


def test_the_acknowledgement_in_english_and_in_french():
    context = {"name": "Ada", "topic": "Where is my parcel?", "reference": 42}
    english = render_mail(OutboundKind.ACKNOWLEDGEMENT, "en", context)
    french = render_mail(OutboundKind.ACKNOWLEDGEMENT, "fr", context)
    assert english.subject == "We received your request: Where is my parcel?"
    assert english.text.startswith("Hello Ada,\n\nThank you for writing to us.")
    assert french.subject == "Nous avons bien reçu votre demande : Where is my parcel?"
    assert french.text.startswith("Bonjour Ada,\n\nMerci de nous avoir écrit.")
    assert '<html lang="fr">' in french.html and "Référence : #42" in french.html


def test_the_solved_survey_asks_how_it_went_in_both_languages():
    links = [(n, f"https://help.example/rate/t?rating={n}") for n in range(1, 6)]
    context = {"name": "", "topic": "", "reference": 7, "rating_links": links}
    english = render_mail(OutboundKind.SOLVED_SURVEY, "en", context)
    french = render_mail(OutboundKind.SOLVED_SURVEY, "fr", context)
    assert render_mail(OutboundKind.SOLVED_SURVEY, "en", context | {"topic": "Parcel"}).subject \
        == "Solved: Parcel — how did we do?"
    assert english.subject == "Your request is solved. How did we do?"
    assert "How did we do?" in english.html and english.text.startswith("Hello,\n")
    assert french.subject == "Votre demande est résolue. Qu\u2019en avez-vous pensé ?"
    assert french.text.startswith("Bonjour,\n")
    assert "5 · Very satisfied: https://help.example/rate/t?rating=5" in english.text
    assert "1 · Très insatisfait: https://help.example/rate/t?rating=1" in french.text
    assert english.html.count('href="https://help.example/rate/t?rating=') == 5


def test_paragraphs_split_on_blank_lines_and_keep_line_breaks():
    assert paragraphs("Hello\r\n\r\nLine one\nLine two\n  \n\nBye\n") == [
        ["Hello"], ["Line one", "Line two"], ["Bye"]]


# --- retries ------------------------------------------------------------------------------


def test_retries_back_off_then_give_up():
    delays = [retry_delay(attempt) for attempt in range(1, MAX_ATTEMPTS + 1)]
    assert delays == [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
                      timedelta(hours=2), timedelta(hours=6), None]


# --- settings -----------------------------------------------------------------------------


def settings(tmp_path, **values):
    return load_settings({"instance_path": str(tmp_path), "secret_key": "s", **values},
                         environ={})


def test_the_mail_settings_default_to_no_smtp_server(tmp_path):
    loaded = settings(tmp_path)
    assert (loaded.smtp_host, loaded.smtp_port, loaded.smtp_security) == ("", 587, "starttls")
    assert (loaded.mail_from, loaded.ack_rate_limit_per_hour) == ("", 3)
    assert mailer_from_settings(loaded) is None


def test_the_smtp_mailer_follows_the_settings(tmp_path):
    loaded = settings(tmp_path, smtp_host="mail.example", smtp_port="465",
                      smtp_security="tls", smtp_username="u", smtp_password="p")
    assert mailer_from_settings(loaded) == SmtpMailer("mail.example", 465, MailboxSecurity.TLS,
                                                      "u", "p")


@pytest.mark.parametrize(("values", "message"), [
    ({"smtp_security": "ssl"}, "COMPTOIR_SMTP_SECURITY: expected one of tls, starttls, none"),
    ({"smtp_port": 70000}, "COMPTOIR_SMTP_PORT: 70000 is above 65535"),
    ({"smtp_port": "twenty-five"}, "COMPTOIR_SMTP_PORT: expected a whole number"),
    ({"smtp_password": "p"}, "COMPTOIR_SMTP_PASSWORD is set but COMPTOIR_SMTP_USERNAME"),
    ({"mail_from": "support"}, "COMPTOIR_MAIL_FROM: expected an address"),
    ({"mail_from": "a@shop.example, b@shop.example"}, "COMPTOIR_MAIL_FROM: expected an"),
    ({"ack_rate_limit_per_hour": 0}, "COMPTOIR_ACK_RATE_LIMIT_PER_HOUR: must be at least 1"),
])
def test_bad_mail_settings_are_named(tmp_path, values, message):
    with pytest.raises(ConfigError, match=message):
        settings(tmp_path, **values)
