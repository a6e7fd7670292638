"""Bounces, auto-replies, read receipts and complaints are told from mail a person wrote."""

import pytest

from helpdesk.mail import MailKind, parse_email


def message(*headers: str, body: str = "Hello") -> bytes:
    lines = [*headers, "Message-ID: <n1@example.com>"]
    if not any(line.lower().startswith("from:") for line in headers):
        lines.append("From: Jean <jean@example.fr>")
    return ("\n".join(lines) + "\n\n" + body).encode()


def report(report_type: str, *parts: str, headers: tuple[str, ...] = ()) -> bytes:
    body = "".join(f"--RPT\n{part}\n" for part in parts) + "--RPT--\n"
    return message(*headers, "MIME-Version: 1.0",
                   f'Content-Type: multipart/report; report-type={report_type}; boundary="RPT"',
                   body=body)


NOTICE = "Content-Type: text/plain\n\nYour message could not be delivered."
ORIGINAL = ("Content-Type: message/rfc822\n\nFrom: support@shop.example\n"
            "To: gone@example.com\nSubject: Your order\n\nHello")


def delivery_status(*recipients: tuple[str, str, str, str]) -> str:
    blocks = "".join(f"\nFinal-Recipient: rfc822; {who}\nAction: {action}\nStatus: {status}\n"
                     f"Diagnostic-Code: smtp; {diagnostic}\n"
                     for who, action, status, diagnostic in recipients)
    return "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n" + blocks


def test_an_rfc3464_report_is_a_permanent_bounce():
    parsed = parse_email(report(
        "delivery-status", NOTICE,
        delivery_status(("<Gone@Example.com>", "failed", "5.1.1", "550 5.1.1 User unknown"),
                        ("other@example.com", "failed", "5.2.2", "552 Mailbox full")),
        ORIGINAL, headers=("From: MAILER-DAEMON@mx.example.com", "Auto-Submitted: auto-replied",
                           "Subject: Undelivered Mail Returned to Sender")))
    assert parsed.kind is MailKind.BOUNCE
    assert parsed.kind_reason == "multipart/report; report-type=delivery-status"
    assert parsed.bounce is not None
    assert parsed.bounce.recipients == ["gone@example.com", "other@example.com"]
    assert parsed.bounce.status == "5.1.1"
    assert parsed.bounce.diagnostic == "550 5.1.1 User unknown"
    assert parsed.bounce.permanent is True
    assert [a.content_type for a in parsed.attachments] == ["message/delivery-status",
                                                            "message/rfc822"]


def test_a_delayed_delivery_report_is_not_permanent():
    parsed = parse_email(report("delivery-status", NOTICE, delivery_status(
        ("late@example.com", "delayed", "4.4.7", "421 try again later"))))
    assert parsed.kind is MailKind.BOUNCE
    assert parsed.bounce is not None and parsed.bounce.permanent is False
    assert parsed.bounce.status == "4.4.7"


def test_a_postfix_style_notice_without_a_report_is_a_bounce():
    body = ("This is the mail system at host mx.example.com.\n\n"
            "<gone@example.com>: host mx.example.com said: 550 5.1.1 <gone@example.com>:\n"
            "    Recipient address rejected: User unknown\n\n"
            "--- Below this line is a copy of the message.\n\nReturn-Path: <jean@example.fr>\n"
            "To: someone.else@example.com\n")
    parsed = parse_email(message("From: Mail Delivery System <MAILER-DAEMON@mx.example.com>",
                                 "To: jean@example.fr", "Subject: Undelivered Mail Returned to "
                                 "Sender", body=body))
    assert parsed.kind is MailKind.BOUNCE and parsed.kind_reason == "sender MAILER-DAEMON"
    assert parsed.bounce is not None
    assert parsed.bounce.recipients == ["gone@example.com"]
    assert parsed.bounce.status == "5.1.1" and parsed.bounce.permanent is True
    assert parsed.bounce.diagnostic.startswith("<gone@example.com>: host mx.example.com said: 550")


def test_x_failed_recipients_names_the_recipients():
    parsed = parse_email(message(
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        "X-Failed-Recipients: lost@example.com", "Subject: Delivery Status Notification (Failure)",
        body="Delivery to the following recipient failed permanently:\n\n  lost@example.com\n\n"
             "Technical details of permanent failure:\nDNS Error: Domain name not found"))
    assert parsed.kind is MailKind.BOUNCE and parsed.kind_reason == "X-Failed-Recipients header"
    assert parsed.bounce is not None and parsed.bounce.recipients == ["lost@example.com"]
    assert parsed.bounce.diagnostic == "Delivery to the following recipient failed permanently:"


def test_a_qmail_failure_notice_is_a_bounce():
    parsed = parse_email(message(
        "From: MAILER-DAEMON@qmail.example.com", "Subject: failure notice",
        body="Hi. This is the qmail-send program at qmail.example.com.\nI'm afraid I wasn't able "
             "to deliver your message to the following addresses.\n\n<nobody@example.org>:\n"
             "Sorry, no mailbox here by that name. (#5.1.1)\n"))
    assert parsed.kind is MailKind.BOUNCE and parsed.kind_reason == "qmail failure notice"
    assert parsed.bounce is not None and parsed.bounce.recipients == ["nobody@example.org"]
    assert parsed.bounce.status == "5.1.1"


def test_a_french_delivery_failure_from_postmaster_is_a_bounce():
    parsed = parse_email(message(
        "From: postmaster@example.fr", "Subject: Non remis : Votre commande",
        body="La remise à ces destinataires a échoué : client@example.com"))
    assert parsed.kind is MailKind.BOUNCE
    assert parsed.bounce is not None and parsed.bounce.recipients == ["client@example.com"]


@pytest.mark.parametrize(("headers", "reason"), [
    (("Auto-Submitted: auto-replied",), "Auto-Submitted: auto-replied"),
    (("Auto-Submitted: auto-generated (vacation)",), "Auto-Submitted: auto-generated (vacation)"),
    (("X-Autoreply: yes",), "X-Autoreply: yes"),
    (("X-Autorespond: Out of office",), "X-Autorespond: Out of office"),
    (("Precedence: bulk",), "Precedence: bulk"),
    (("Precedence: junk",), "Precedence: junk"),
    (("Precedence: list",), "Precedence: list"),
    (("List-Id: Shop news <news.shop.example>",), "List-Id: Shop news <news.shop.example>"),
])
def test_auto_reply_headers(headers, reason):
    parsed = parse_email(message(*headers, "Subject: Re: your order"))
    assert parsed.kind is MailKind.AUTO_REPLY
    assert parsed.kind_reason == reason
    assert parsed.bounce is None


@pytest.mark.parametrize("subject", [
    "=?UTF-8?Q?R=C3=A9ponse_automatique_:_Absent_du_bureau?=",
    "Absent du bureau jusqu'au 12 août",
    "Absence du 3 au 10 juin",
    "Réponse automatique : Votre commande",
    "Out of Office: Re: Order 42",
    "Automatic reply: Order 42",
    "Re: Order 42 [Out of the office]",
])
def test_out_of_office_subjects(subject):
    parsed = parse_email(message(f"Subject: {subject}"))
    assert parsed.kind is MailKind.AUTO_REPLY
    assert parsed.kind_reason.startswith("out-of-office subject")


@pytest.mark.parametrize("headers", [
    ("Subject: Re: absence of an invoice",),
    ("Subject: Question about my order", "Auto-Submitted: no"),
    ("Subject: Where is my parcel?", "Precedence: first-class"),
])
def test_mail_a_person_wrote_is_normal(headers):
    parsed = parse_email(message(*headers))
    assert parsed.kind is MailKind.NORMAL and parsed.bounce is None


def test_a_read_receipt_is_an_auto_reply():
    receipt = ("Content-Type: message/disposition-notification\n\nReporting-UA: pc.example.com\n"
               "Final-Recipient: rfc822;jean@example.fr\nDisposition: manual-action/MDN-sent-"
               "manually; displayed")
    parsed = parse_email(report("disposition-notification", NOTICE, receipt))
    assert parsed.kind is MailKind.AUTO_REPLY
    assert parsed.kind_reason == "read receipt (disposition-notification)"
    assert parsed.bounce is None


def test_a_spam_complaint_is_an_auto_reply():
    feedback = "Content-Type: message/feedback-report\n\nFeedback-Type: abuse\nVersion: 1"
    parsed = parse_email(report("feedback-report", NOTICE, feedback, ORIGINAL))
    assert parsed.kind is MailKind.AUTO_REPLY
    assert parsed.kind_reason == "complaint (feedback-report)"


def test_a_forwarded_bounce_is_not_a_bounce():
    parsed = parse_email(message(
        "Subject: Fwd: Undelivered Mail Returned to Sender", "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="F"',
        body=f"--F\nContent-Type: text/plain\n\nWhy did this bounce?\n--F\n"
             f"Content-Type: message/rfc822\n\n{report('delivery-status', NOTICE).decode()}\n"
             f"--F--\n"))
    assert parsed.kind is MailKind.NORMAL
