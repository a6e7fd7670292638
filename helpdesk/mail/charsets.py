"""Bytes and headers to text, whatever charset a mailer declared (or forgot, or got wrong).

A declared charset is tried first, then the wider charset mailers really mean by it
(Windows-1252 for ISO-8859-1, CP932 for Shift_JIS…), then UTF-8 and Windows-1252, so that
French accents come out right in mislabelled mail. Latin-1 ends the chain: it never fails.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import quopri
import re

# The charset a sender most likely used when it declared the key (codec names as `codecs`
# normalises them).
WIDER = {
    "iso8859-1": ("cp1252",),
    "ascii": ("utf-8", "cp1252"),
    "shift_jis": ("cp932",),
    "euc_jp": ("cp932",),
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "euc_kr": ("cp949",),
    "iso2022_jp": ("iso2022_jp_2", "iso2022_jp_ext", "iso2022_jp_3"),
    "big5": ("big5hkscs",),
}
# Single-byte charsets whose text is almost never valid UTF-8 by accident: bytes that do
# decode as UTF-8 were UTF-8, whatever the label said.
SINGLE_BYTE = {"ascii", "iso8859-1", "iso8859-15", "cp1252"}
FALLBACKS = ("utf-8", "cp1252")
# Labels that are not charsets but that mailers write (x-unknown, iso-8859-8-i…).
ALIASES = {"iso-8859-8-i": "iso-8859-8", "iso-8859-6-i": "iso-8859-6", "cp-850": "cp850",
           "x-sjis": "cp932", "x-mac-roman": "mac_roman", "utf8mb4": "utf-8"}
ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
ESCAPED_BYTE = re.compile(r"[\udc80-\udcff]")


def codec_name(charset: str | None) -> str | None:
    """The Python codec for a declared charset, or None when it names none."""
    if not charset:
        return None
    label = charset.strip().strip("\"'").lower().split("*", 1)[0]  # RFC 2231 language
    try:
        return codecs.lookup(ALIASES.get(label, label)).name
    except LookupError:
        return None


def candidates(charset: str | None) -> list[str]:
    """Codecs to try, in order, for bytes declared as ``charset``."""
    declared = codec_name(charset)
    if declared is None:
        chain = list(FALLBACKS)
    elif declared in SINGLE_BYTE:
        chain = ["utf-8", *WIDER.get(declared, ()), declared]
    else:
        chain = [declared, *WIDER.get(declared, ()), *FALLBACKS]
    return list(dict.fromkeys(chain))


def decode_bytes(data: bytes, charset: str | None, problems: list[str], where: str) -> str:
    """``data`` as text; a problem is noted when the charset is unknown or wrong."""
    if charset and codec_name(charset) is None:
        problems.append(f"{where}: unknown charset {charset!r}")
    for codec in candidates(charset):
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            if codec == "utf-8" and _mostly_utf8(data):
                problems.append(f"{where}: invalid UTF-8 bytes replaced")
                return data.decode("utf-8", "replace")
            continue
        if _misdeclared(codec, charset):
            problems.append(f"{where}: declared {charset!r}, read as {codec}")
        return text
    problems.append(f"{where}: bytes invalid in {charset or 'any charset tried'}, "
                    "read as Latin-1")
    return data.decode("latin-1")


def _mostly_utf8(data: bytes) -> bool:
    """Whether UTF-8 text with a few broken bytes is likelier than another charset: at
    most one byte in ten outside ASCII is invalid."""
    invalid = data.decode("utf-8", "replace").count("\ufffd") - data.count(
        "\ufffd".encode())
    non_ascii = sum(byte > 0x7F for byte in data)
    return invalid * 10 <= non_ascii


def _misdeclared(codec: str, charset: str | None) -> bool:
    """Whether reading as ``codec`` means the declared charset was wrong (not merely
    narrower than what the sender used)."""
    declared = codec_name(charset)
    if declared is None or codec == declared or codec in WIDER.get(declared, ()):
        return False
    return not (declared in SINGLE_BYTE and codec == "utf-8")


def fix_raw_bytes(value: str, problems: list[str], where: str) -> str:
    """A header the parser read with raw 8-bit bytes kept as escapes, decoded as text."""
    if not ESCAPED_BYTE.search(value):
        return value
    data = value.encode("utf-8", "surrogateescape")
    return decode_bytes(data, None, problems, where)


def decode_words(value: str, problems: list[str], where: str) -> str:
    """RFC 2047 encoded words decoded; the blanks between two encoded words dropped, and
    adjacent words in one charset decoded together (a character may span two words)."""
    pieces: list[str | tuple[str, bytes]] = []  # plain text, or (charset, bytes)
    position = 0
    for match in ENCODED_WORD.finditer(value):
        between = value[position:match.start()]
        if between and not (between.isspace() and pieces and isinstance(pieces[-1], tuple)):
            pieces.append(between)
        pieces.append((match.group(1), _word_bytes(match, problems, where)))
        position = match.end()
    pieces.append(value[position:])
    return "".join(_joined_words(pieces, problems, where))


def _word_bytes(match: re.Match[str], problems: list[str], where: str) -> bytes:
    """The bytes one encoded word carries (a broken one is read as well as it can be)."""
    encoding, payload = match.group(2).lower(), match.group(3)
    if encoding == "q":
        return quopri.decodestring(payload.replace("_", " ").encode("ascii", "replace"),
                                   header=True)
    data = payload.encode("ascii", "replace")
    try:
        return base64.b64decode(data + b"=" * (-len(data) % 4))
    except binascii.Error:
        problems.append(f"{where}: broken base64 encoded word")
        return data


def _joined_words(pieces: list[str | tuple[str, bytes]], problems: list[str],
                  where: str) -> list[str]:
    """Each run of encoded words in one charset decoded as one byte string."""
    out: list[str] = []
    run_charset, run = "", b""
    for piece in pieces:
        same_run = isinstance(piece, tuple) and piece[0].lower() == run_charset.lower()
        if run and not same_run:
            out.append(decode_bytes(run, run_charset, problems, where))
            run = b""
        if isinstance(piece, str):
            out.append(piece)
        else:
            run_charset, run = piece[0], run + piece[1]
    return out
