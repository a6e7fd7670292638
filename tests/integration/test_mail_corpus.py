"""parse_email on the public email corpora of the shared data folder: every message is read
(or refused with a reason), bounces are bounces, and visible_text meets the published
expectations of talon and email-reply-parser."""

from pathlib import Path

import pytest

from benchmarks.banking77_kb import SHARED_DATA_ENV, shared_data_dir
from benchmarks.email_visible_text import reply_parser_cases, score, talon_cases
from helpdesk.mail import MailKind, UnparseableEmail, parse_email
from helpdesk.mail.visible import visible_text

EMAILS = shared_data_dir() / "emails"
CORPORA = ("talon", "email-reply-parser", "flanker", "ruby-mail")
TARGET = 0.90

pytestmark = pytest.mark.skipif(not EMAILS.is_dir(),
                                reason=f"no email corpora at {EMAILS} (set {SHARED_DATA_ENV})")


def corpus_files(*patterns: str) -> list[Path]:
    """The corpora's files matching ``patterns`` (none when the data folder is absent)."""
    if not EMAILS.is_dir():
        return []
    return sorted({path for corpus in CORPORA for pattern in patterns
                   for path in (EMAILS / corpus).rglob(pattern) if path.is_file()})


def label(path: Path) -> str:
    return str(path.relative_to(EMAILS))


# Whole messages, and email-reply-parser's bare reply bodies (read as header-less messages).
MESSAGES = corpus_files("*.eml", "emails/*.txt")
BOUNCES = [path for path in MESSAGES if "bounce" in path.parts
           or "multipart_report_emails" in path.parts]
REPORTS = [path for path in MESSAGES if "complaints" in path.parts
           or path.name == "disposition-notification.eml"]


def test_the_corpora_hold_messages_of_each_kind():
    assert len(MESSAGES) >= 100
    assert len(BOUNCES) >= 14 and len(REPORTS) >= 3


@pytest.mark.parametrize("path", MESSAGES, ids=label)
def test_every_message_is_read_or_refused_with_a_reason(path):
    try:
        parsed = parse_email(path.read_bytes())
    except UnparseableEmail as refused:
        assert str(refused)
        return
    assert parsed.text or parsed.attachments or parsed.subject or parsed.problems
    assert len(parsed.visible_text) <= len(parsed.text)


@pytest.mark.parametrize("path", BOUNCES, ids=label)
def test_bounce_samples_are_bounces(path):
    parsed = parse_email(path.read_bytes())
    assert parsed.kind is MailKind.BOUNCE, parsed.kind_reason
    assert parsed.bounce is not None and parsed.bounce.recipients


@pytest.mark.parametrize("path", REPORTS, ids=label)
def test_complaints_and_read_receipts_are_auto_replies(path):
    parsed = parse_email(path.read_bytes())
    assert parsed.kind is MailKind.AUTO_REPLY and parsed.bounce is None


def test_talon_replies_are_normal_mail():
    for case in talon_cases(EMAILS / "talon"):
        path = EMAILS / "talon" / "tests" / "fixtures" / "standard_replies" / case.name
        assert parse_email(path.read_bytes()).kind is MailKind.NORMAL, case.name


def test_visible_text_meets_talon_expectations():
    """talon's expectations keep the signature: scored with keep_signature=True."""
    result = score(talon_cases(EMAILS / "talon"),
                   lambda text: visible_text(text, keep_signature=True))
    assert result.share >= TARGET, result.missed


def test_visible_text_meets_email_reply_parser_expectations():
    result = score(reply_parser_cases(EMAILS / "email-reply-parser"), visible_text)
    assert result.share >= TARGET, result.missed
