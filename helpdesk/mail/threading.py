"""Which conversation an incoming email continues, and the tokens that let replies find it.

The rules, in order; the first naming a conversation the caller accepts (the sender's own,
or one they are copied on) wins, and its name is recorded:

1. ``in_reply_to``, then ``references`` (newest first): a Message-ID Comptoir sent or
   received (``EmailMessageRef``).
2. ``address_token``, then ``subject_token``: a conversation token in a recipient address
   (``support+<token>@…``) or in the subject (``[#<token>]``).
3. ``new``: none of them.

A conversation merged into another stands for that one (helpdesk.services.merging).

A token is ``<id>-<signature>``, the signature an HMAC of the id with the app's secret key:
a stranger can read a conversation number but cannot name another conversation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from email.utils import getaddresses

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.mail.parsing import ParsedEmail
from helpdesk.models import Conversation, EmailMessageRef, ThreadRule
from helpdesk.models.mail import MESSAGE_ID_LENGTH

SIGNED_ID = r"(\d{1,10})-([a-z2-7]{10})"  # id, signature
ADDRESS_TOKEN = re.compile(rf"^[^@\s]+\+{SIGNED_ID}@", re.IGNORECASE)
SUBJECT_TAG = re.compile(rf"\s*\[#{SIGNED_ID}\]", re.IGNORECASE)
BRACKETED_ID = re.compile(r"<([^<>\s]+)>")
# Where the address a message was delivered to shows when it came as a Bcc.
ENVELOPE_HEADERS = ("delivered-to", "x-original-to", "envelope-to")
MAX_REFERENCES = 50  # the newest ones; a long thread's oldest add nothing


@dataclass(frozen=True)
class Thread:
    """Where an email goes: a conversation (with the rule that found it), or a new one."""

    conversation: Conversation | None
    rule: ThreadRule


def conversation_token(conversation_id: int) -> str:
    """The token naming a conversation in reply addresses and subjects."""
    return f"{conversation_id}-{_signature(conversation_id)}"


def reply_address(base_address: str, conversation_id: int) -> str:
    """``support@shop.example`` → ``support+<token>@shop.example``, for the Reply-To."""
    local, _, domain = base_address.strip().rpartition("@")
    if not local or not domain:
        raise ValueError(f"{base_address!r} is not an email address")
    return f"{local.split('+', 1)[0]}+{conversation_token(conversation_id)}@{domain}"


def subject_tag(conversation_id: int) -> str:
    """``[#<token>]``, to put in the subject of mail about the conversation."""
    return f"[#{conversation_token(conversation_id)}]"


def without_tags(subject: str) -> str:
    """The subject without its conversation tags."""
    return SUBJECT_TAG.sub("", subject).strip()


def normalized_message_id(value: str | None) -> str | None:
    """A Message-ID header's id without angle brackets; None when there is none (or it is
    too long to be one)."""
    value = (value or "").strip()
    match = BRACKETED_ID.search(value)
    found = match.group(1) if match else value
    if not found or " " in found or len(found) > MESSAGE_ID_LENGTH:
        return None
    return found


def remember_message_id(session: Session, message_id: str | None, conversation_id: int,
                        message_row_id: int | None) -> None:
    """Record a Message-ID sent or received in a conversation, so replies to it thread.

    The first conversation to claim an id keeps it; the caller commits.
    """
    rfc_id = normalized_message_id(message_id)
    if rfc_id is not None and conversation_of_message_id(session, rfc_id) is None:
        claim_message_id(session, rfc_id, conversation_id, message_row_id)


def claim_message_id(session: Session, rfc_id: str, conversation_id: int,
                     message_row_id: int | None) -> None:
    """``remember_message_id`` when the caller knows no conversation has it yet."""
    session.add(EmailMessageRef(rfc_message_id=rfc_id, conversation_id=conversation_id,
                                message_id=message_row_id))


def conversation_of_message_id(session: Session, rfc_id: str | None) -> int | None:
    """The conversation a Message-ID was sent or received in, if any."""
    return conversations_of_message_ids(session, [rfc_id]).get(rfc_id) if rfc_id else None


def conversations_of_message_ids(session: Session, rfc_ids: Iterable[str]) -> dict[str, int]:
    """The conversation each of these Message-IDs was sent or received in (the unknown
    ones are left out), in one query."""
    wanted = set(rfc_ids)
    if not wanted:
        return {}
    return dict(session.execute(
        select(EmailMessageRef.rfc_message_id, EmailMessageRef.conversation_id)
        .where(EmailMessageRef.rfc_message_id.in_(wanted))).all())


class MessageIds:
    """Which conversation each Message-ID was sent or received in, for a batch of emails:
    ``load`` looks many up in one query, ``add`` notes one the batch has just threaded, and
    an id neither loaded nor added is looked up when it is asked for."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._conversations: dict[str, int] = {}
        self._looked_up: set[str] = set()

    def load(self, rfc_ids: Iterable[str]) -> None:
        wanted = set(rfc_ids) - self._looked_up
        self._conversations |= conversations_of_message_ids(self._session, wanted)
        self._looked_up |= wanted

    def add(self, rfc_id: str, conversation_id: int) -> None:
        self._conversations[rfc_id] = conversation_id
        self._looked_up.add(rfc_id)

    def conversations(self, rfc_ids: Sequence[str]) -> dict[str, int]:
        """The conversation of each id that has one."""
        self.load(rfc_ids)
        return {i: self._conversations[i] for i in rfc_ids if i in self._conversations}


def replied_ids(email: ParsedEmail) -> list[str]:
    """The Message-IDs ``email`` answers: In-Reply-To, then References (newest first)."""
    return [rfc_id for _rule, rfc_id in _replied(email)]


def _replied(email: ParsedEmail) -> list[tuple[ThreadRule, str]]:
    return [(ThreadRule.IN_REPLY_TO, i) for i in email.in_reply_to] + [
        (ThreadRule.REFERENCES, i) for i in reversed(email.references[-MAX_REFERENCES:])]


def named_conversations(email: ParsedEmail, message_ids: MessageIds) -> set[int]:
    """The ids of the conversations ``email`` may continue, by any rule."""
    return {conversation_id for _rule, conversation_id in _candidates(email, message_ids)}


def find_thread(session: Session, email: ParsedEmail, accepts: Callable[[Conversation], bool],
                message_ids: MessageIds) -> Thread:
    """The conversation ``email`` continues: the first candidate ``accepts``, else none."""
    for rule, conversation_id in _candidates(email, message_ids):
        conversation = _continued(session, conversation_id)
        if conversation is not None and accepts(conversation):
            return Thread(conversation, rule)
    return Thread(None, ThreadRule.NEW)


def _continued(session: Session, conversation_id: int) -> Conversation | None:
    """The conversation, or the one it was merged into: mail to a merged one goes on there
    (never a loop: a merged conversation is closed, and nothing merges into a closed one)."""
    conversation = session.get(Conversation, conversation_id)
    while conversation is not None and conversation.merged_into_id is not None:
        conversation = session.get(Conversation, conversation.merged_into_id)
    return conversation


def carries_token(address: str) -> bool:
    """True for a reply address (``local+<valid token>@domain``)."""
    match = ADDRESS_TOKEN.match(address)
    return match is not None and _verified(*match.groups()) is not None


def _candidates(email: ParsedEmail,
                message_ids: MessageIds) -> Iterator[tuple[ThreadRule, int]]:
    yield from _by_message_ids(email, message_ids)
    yield from ((ThreadRule.ADDRESS_TOKEN, i) for i in _address_tokens(email))
    yield from ((ThreadRule.SUBJECT_TOKEN, i) for i in _subject_tokens(email.subject))


def _by_message_ids(email: ParsedEmail,
                    message_ids: MessageIds) -> Iterator[tuple[ThreadRule, int]]:
    wanted = _replied(email)
    known = message_ids.conversations([rfc_id for _rule, rfc_id in wanted])
    yield from ((rule, known[i]) for rule, i in wanted if i in known)


def _address_tokens(email: ParsedEmail) -> Iterator[int]:
    envelope = [v for name in ENVELOPE_HEADERS for v in email.headers.get(name, [])]
    addresses = [a.email for a in (*email.to, *email.cc)]
    addresses += [address for _name, address in getaddresses(envelope)]
    for address in addresses:
        match = ADDRESS_TOKEN.match(address)
        conversation_id = _verified(*match.groups()) if match else None
        if conversation_id is not None:
            yield conversation_id


def _subject_tokens(subject: str) -> Iterator[int]:
    for match in SUBJECT_TAG.finditer(subject):
        conversation_id = _verified(*match.groups())
        if conversation_id is not None:
            yield conversation_id


def _verified(id_text: str, signature: str) -> int | None:
    conversation_id = int(id_text)
    if hmac.compare_digest(signature.lower(), _signature(conversation_id)):
        return conversation_id
    return None


def _signature(conversation_id: int) -> str:
    """50 bits of an HMAC-SHA256, in lower-case base32 (mail systems may fold case)."""
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    digest = hmac.new(key, f"comptoir-conversation:{conversation_id}".encode(),
                      hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii")[:10].lower()
