"""The part of a message's text its author just wrote: quoted history and signature removed.

History is recognised by its marks: ``>``-quoted lines and the attribution above them
("On … wrote:", "Le … a écrit :"), Outlook header blocks ("From: … Sent: … To: …"),
"-----Original Message-----" and forwarded-message separators. Everything after an
unquoted attribution or a header block is history. A signature starts at a "-- " line, a
"Sent from my iPhone" line, a "-Name" line or a sign-off ("Best regards,", "Cordialement,")
when only a short block follows it.
"""

from __future__ import annotations

import itertools
import re

# Languages of the attributions mail clients write above quoted text.
_VERBS = (r"wrote|writes|a\s+écrit|a\s+ecrit|schrieb|escribió|escribio|ha\s+scritto|schreef"
          r"|skrev|napisał|escreveu|kirjoitti|написал\w*|yazd\u0131")
_STARTS = r"On|Le|Am|El|Il|Op|Em|Den|På|W\s+dniu|Dne|\d{1,4}[./-]"
# A strong attribution names a time or an address: then what follows is history even when
# it is not quoted.
STRONG_ATTRIBUTION = re.compile(
    rf"^\s*({_STARTS})\b.*(\d[:h.]\d\d|@).*\b({_VERBS})\s*:\s*$", re.I)
# Weak ones count only right above a quote: "Megan wrote:", or a line ending with a colon
# that names a time and an address (whatever the language).
WEAK_ATTRIBUTION = re.compile(rf"^.+\b({_VERBS})\s*:\s*$|^(?=.*\d[:h.]\d\d)(?=.*@).*:\s*$",
                              re.I)
MAX_ATTRIBUTION_CHARS = 300
SEPARATOR_HISTORY = re.compile(
    r"^\s*-{2,}\s*(original message|message d'origine|message original|mail original"
    r"|forwarded message|message transféré|message transfere|mensaje original"
    r"|mensaje reenviado|ursprüngliche nachricht|weitergeleitete nachricht"
    r"|messaggio originale|messaggio inoltrato|oorspronkelijk bericht)\s*-{2,}\s*$"
    r"|^\s*(begin forwarded message|début du message (réexpédié|transféré)"
    r"|anfang der weitergeleiteten nachricht)\s*:", re.I)
# The headers mail clients write above a quoted message, by language: sender, date,
# recipients, subject.
_FROM_NAMES = r"from|de|von|da|van|от"
_WHEN_NAMES = (r"sent|date|envoyé|envoye|gesendet|datum|inviato|enviado|enviada|fecha"
               r"|verzonden|отправлено|дата|subject|objet|betreff|oggetto|asunto|assunto"
               r"|onderwerp|тема")
_TO_NAMES = r"to|cc|bcc|reply-to|à|a|an|aan|para|кому|копия"
HEADER_LINE = re.compile(
    rf"^\s*\*?({_FROM_NAMES}|{_WHEN_NAMES}|{_TO_NAMES})\s*:\*?\s*\S", re.I)
FROM_LINE = re.compile(rf"^\s*\*?({_FROM_NAMES})\s*:", re.I)
WHEN_LINE = re.compile(rf"^\s*\*?({_WHEN_NAMES})\s*:", re.I)
DELIMITER = re.compile(r"^(--|_{2,})$")
DASH_NAME = re.compile(r"^-\w[\w .'-]{0,40}$")
MOBILE = re.compile(
    r"^(sent from (my\b|outlook|mail for windows|yahoo mail|samsung|aol mobile|proton)"
    r"|envoyé (de|depuis|à partir de) mon|envoye (de|depuis) mon|get outlook for"
    r"|obtenir outlook pour|téléchargez outlook|von meinem .* gesendet|enviado desde mi"
    r"|inviato da)", re.I)
SIGN_OFF = re.compile(
    r"^(best( regards| wishes)?|kind regards|warm regards|regards|many thanks"
    r"|thanks( again| a lot| in advance)?|thank you( very much)?|cheers|sincerely"
    r"|yours( truly| sincerely)?|cordialement|bien cordialement|très cordialement"
    r"|bien à vous|salutations( distinguées)?|sincères salutations|merci( beaucoup)?"
    r"|merci d'avance|merci par avance|bonne journée|bonne soirée|amicalement|à bientôt"
    r"|respectueusement|mit freundlichen grüßen|viele grüße|saludos|atentamente)"
    r"\s*[,.!]*\s*$", re.I)
# How many non-blank lines may follow a signature start for it to count as one.
DELIMITED_SIGNATURE_LINES = 20
SIGNATURE_LINES = 8
SIGNATURE_LINE_CHARS = 60
RULER = re.compile(r"^[\s\-_=*~#]*$")


def visible_text(text: str, *, keep_signature: bool = False) -> str:
    """What is new in ``text``: quoted history removed, and the signature unless
    ``keep_signature``. A text that is all history (a bare forward) is kept whole."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = _without_history(lines)
    if not keep_signature:
        kept = _without_signature(kept)
    return _tidy(kept) or _tidy(lines)


# --- quoted history -----------------------------------------------------------------------


def _without_history(lines: list[str]) -> list[str]:
    """The lines before the history starts, less quoted blocks and their attributions
    (an answer written between quoted blocks is kept)."""
    kept: list[str] = []
    n = 0
    while n < len(lines):
        if _is_quoted(lines[n]):
            n += 1
            continue
        if SEPARATOR_HISTORY.match(lines[n]) or _is_header_block(lines, n):
            break
        end = _attribution_end(lines, n)
        if end is None:
            kept.append(lines[n])
            n += 1
        elif _quote_follows(lines, end + 1):
            n = end + 1
        else:
            break
    return kept


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _attribution_end(lines: list[str], start: int) -> int | None:
    """The last line of an attribution starting at ``start`` (clients wrap it over up to
    three lines), or None. A weak one ("John wrote:") counts only above a quote."""
    for end in range(start, min(start + 3, len(lines))):
        if not lines[end].strip() or _is_quoted(lines[end]):
            return None
        joined = " ".join(line.strip() for line in lines[start:end + 1])
        if len(joined) > MAX_ATTRIBUTION_CHARS:
            return None
        if STRONG_ATTRIBUTION.match(joined):
            return end
        if end == start and WEAK_ATTRIBUTION.match(joined) and _quote_follows(lines, end + 1):
            return end
    return None


def _quote_follows(lines: list[str], start: int) -> bool:
    """Whether the next non-blank line from ``start`` is quoted."""
    rest = (line for line in lines[start:] if line.strip())
    return _is_quoted(next(rest, ""))


def _is_header_block(lines: list[str], start: int) -> bool:
    """Whether a quoted message's headers start here: at least three header lines in a
    row (blank lines aside), a sender and a date or subject among them."""
    if not HEADER_LINE.match(lines[start]):
        return False
    window = [line for line in lines[start:start + 8] if line.strip()][:5]
    headers = list(itertools.takewhile(HEADER_LINE.match, window))
    return (len(headers) >= 3 and any(FROM_LINE.match(line) for line in headers)
            and any(WHEN_LINE.match(line) for line in headers))


# --- signature ----------------------------------------------------------------------------


def _without_signature(lines: list[str]) -> list[str]:
    """The lines before the first signature start (after some text) that only a short
    block follows."""
    after = _non_blank_after(lines)
    first = next((n for n, line in enumerate(lines) if line.strip()), len(lines))
    for n in range(first + 1, len(lines)):
        if _signature_starts(lines, n, after[n]):
            return lines[:n]
    return lines


def _non_blank_after(lines: list[str]) -> list[int]:
    """For each line, how many non-blank lines follow it."""
    counts, total = [0] * len(lines), 0
    for n in range(len(lines) - 1, -1, -1):
        counts[n] = total
        total += bool(lines[n].strip())
    return counts


def _signature_starts(lines: list[str], n: int, after: int) -> bool:
    """Whether a signature starts at line ``n``, ``after`` non-blank lines before the end:
    a delimiter with at most twenty lines after it, a mobile footer, or a sign-off or
    "-Name" with a few name-like lines."""
    line = lines[n].strip()
    if DELIMITER.match(line):
        return after <= DELIMITED_SIGNATURE_LINES
    if after >= SIGNATURE_LINES:
        return False
    if MOBILE.match(line):
        return True
    rest = [later.strip() for later in lines[n + 1:] if later.strip()]
    named = DASH_NAME.match(line) or SIGN_OFF.match(line)
    return bool(named) and all(map(_signature_like, rest))


def _signature_like(line: str) -> bool:
    """A line a signature block holds (a name, a title, a phone number, an address, a
    link), not a sentence of the message."""
    if " " in line and len(line) > SIGNATURE_LINE_CHARS:
        return False
    sentence = line.endswith(("?", "!")) or (line.endswith(".") and len(line.split()) >= 5)
    return not sentence


# --- layout -------------------------------------------------------------------------------


def _tidy(lines: list[str]) -> str:
    """Trailing blanks and rulers removed, runs of blank lines squeezed to one."""
    end = len(lines)
    while end and RULER.match(lines[end - 1]):
        end -= 1
    out: list[str] = []
    for line in (line.rstrip() for line in lines[:end]):
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip("\n")
