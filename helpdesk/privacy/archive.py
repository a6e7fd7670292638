"""A customer's data in one zip archive, for them to read and for programs to process.

- ``README.txt``: what each file holds;
- ``manifest.json``: whose data, when, the rows exported per table and the file holding
  them, the tables left out and why;
- ``profile.json``: the customer's record (and those merged into it), identities, and the
  rows the record points at (e.g. their organisation);
- ``conversations/<id>.json`` and ``.txt``: each conversation with its tags, the people
  copied, its messages and their attachments (JSON; and as a transcript to read);
- ``attachments/<id>-<name>``: the files; ``emails/<id>.eml``: the received emails' sources;
- ``data/<table>.json``: every other table's rows about them (timeline, calls, feedback…),
  and ``data/customer_import_rows.json``: the rows of uploaded customer files naming them.
"""

from __future__ import annotations

import json
import zipfile
from collections import defaultdict
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session
from sqlalchemy.types import LargeBinary

from helpdesk.models import User
from helpdesk.orm import utcnow
from helpdesk.privacy import imports
from helpdesk.privacy.scope import CUSTOMERS, Where
from helpdesk.services.attachments import safe_filename

Row = dict[str, Any]
# Tables whose rows hold nothing the customer gave or was told: internal bookkeeping.
EXCLUDED = {
    "conversation_slas": "the service-level policy applied: internal bookkeeping",
    "sla_deadlines": "the service-level clocks: internal bookkeeping (the response and "
                     "resolution times are in the conversations)",
    "sla_breaches": "the team's missed service-level targets: an internal measure",
    "automation_runs": "which automation rule ran when: internal bookkeeping (what the rules "
                       "changed is in the timeline)",
    "email_message_refs": "the Message-IDs that thread replies: each email's own is in its "
                          "source or in the messages",
}
# Written into conversations/ and profile.json rather than data/.
IN_PROFILE = ("customers", "identities")
IN_CONVERSATIONS = ("conversations", "conversation_tags", "conversation_participants",
                    "messages", "attachments")
SOURCES = ("inbound_emails", "raw")
# Not a table: the rows of uploaded customer files that name them (helpdesk.privacy.imports).
IMPORTED_ROWS = "customer_import_rows"  # the column written as emails/<id>.eml
AUTHOR_KINDS = {"customer": "You", "agent": "Agent", "bot": "Assistant", "system": "System"}
README = """Your data, exported on {when} (customer #{customer_id}).

profile.json             your customer record, identities and consents
conversations/<id>.json  each conversation with its messages and attachments' details
conversations/<id>.txt   the same conversation as a transcript to read
attachments/             the files sent in the conversations
emails/<id>.eml          the emails received from you, as they arrived
data/<table>.json        everything else recorded about you: history (timeline), calls,
                         feedback, the assistant's records, the rows of customer files
                         imported by our staff that name you…
manifest.json            how many records each file holds, and what was left out and why

Times are in UTC. Derived data such as search vectors is not included.
"""


def write_archive(session: Session, where: Where, customer_id: int, out: Path,
                  storage: Path) -> dict[str, int]:
    """Write the scope's rows (``where``) to a zip archive at ``out``, attachments read
    from ``storage``; returns the rows exported per table."""
    rows = {table.name: _rows(session, table, condition) for table, condition in where.items()
            if table.name not in EXCLUDED}
    rows[IMPORTED_ROWS] = _imported_rows(session, rows.get("identities", []))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        files = _write_attachments(archive, rows.get("attachments", []), storage)
        _write_sources(archive, rows.get("inbound_emails", []))
        _put(archive, "profile.json", _profile(session, rows))
        _write_conversations(archive, rows, files, _authors(session, rows))
        others = {name: found for name, found in rows.items()
                  if found and name not in IN_PROFILE + IN_CONVERSATIONS}
        for name, found in others.items():
            _put(archive, f"data/{name}.json", found)
        counts = {name: len(found) for name, found in rows.items() if found}
        _put(archive, "manifest.json", _manifest(customer_id, counts, others, where, files))
        archive.writestr("README.txt", README.format(when=_text_time(utcnow()),
                                                     customer_id=customer_id))
    return counts


def _rows(session: Session, table: Table, condition: Any) -> list[Row]:
    """The rows as JSON-ready dicts; binary columns left out (the sources are files)."""
    kept = [c for c in table.columns if not isinstance(c.type, LargeBinary)
            or (table.name, c.name) == SOURCES]
    query = select(*kept).where(condition).order_by(*table.primary_key.columns)
    return [dict(row) for row in session.execute(query).mappings()]


def _imported_rows(session: Session, identities: list[Row]) -> list[Row]:
    """The rows of uploaded customer files (CSV imports) naming them, with the problems
    the import found in each."""
    values = [i["value"] for i in identities if i["kind"] in imports.NAMED_BY]
    return [asdict(row) for row in imports.named_rows(session, values)]


def _write_attachments(archive: zipfile.ZipFile, attachments: list[Row],
                       storage: Path) -> dict[int, str | None]:
    """Each attachment's file, by attachment id: its name in the archive, None if missing."""
    names: dict[int, str | None] = {}
    for attachment in attachments:
        path = storage / attachment["storage_path"]
        name = f"attachments/{attachment['id']}-{safe_filename(attachment['filename'])}"
        names[attachment["id"]] = name if path.is_file() else None
        if path.is_file():
            archive.write(path, name)
    return names


def _write_sources(archive: zipfile.ZipFile, emails: list[Row]) -> None:
    """Each email's raw source as a file, named in its row (none once retention purged it)."""
    for email in emails:
        raw, name = email.pop(SOURCES[1]), f"emails/{email['id']}.eml"
        email["source"] = name if raw else None
        if raw:
            archive.writestr(name, raw)


def _profile(session: Session, rows: dict[str, list[Row]]) -> Row:
    """The records, identities, and the rows the records point at (other than customers)."""
    linked: dict[str, list[Row]] = {}
    for fk in CUSTOMERS.foreign_keys:
        keys = {row[fk.parent.name] for row in rows["customers"]} - {None}
        if fk.column.table is not CUSTOMERS and keys:
            linked[fk.column.table.name] = _rows(session, fk.column.table,
                                                 fk.column.in_(keys))
    return {"customers": rows["customers"], "identities": rows.get("identities", []),
            "linked": linked}


def _write_conversations(archive: zipfile.ZipFile, rows: dict[str, list[Row]],
                         files: dict[int, str | None], authors: dict[tuple[str, int], str]
                         ) -> None:
    children = {name: _by_conversation(rows.get(name, [])) for name in IN_CONVERSATIONS[1:]}
    for attachment in rows.get("attachments", []):
        attachment["file"] = files[attachment["id"]]
    by_message = _grouped(rows.get("attachments", []), "message_id")
    for conversation in rows.get("conversations", []):
        number = conversation["id"]
        messages = [{**m, "attachments": by_message.get(m["id"], [])}
                    for m in children["messages"].get(number, [])]
        full = {**conversation, "tags": [t["name"] for t in children["conversation_tags"]
                                         .get(number, [])],
                "participants": children["conversation_participants"].get(number, []),
                "messages": messages}
        _put(archive, f"conversations/{number}.json", full)
        archive.writestr(f"conversations/{number}.txt", transcript(full, authors))


def transcript(conversation: Row, authors: dict[tuple[str, int], str]) -> str:
    """A conversation as a person reads it: its facts, then each message."""
    head = [f"Conversation #{conversation['id']}: {conversation['subject'] or '(no subject)'}",
            f"Channel: {conversation['channel']} · Status: {conversation['status']} · "
            f"Opened: {_text_time(conversation['created_at'])}"]
    if conversation.get("csat_rating") is not None:
        comment = conversation.get("csat_comment") or ""
        head.append(f"Satisfaction: {conversation['csat_rating']}/5"
                    + (f" · {comment}" if comment else ""))
    return "\n".join(head) + "\n\n" + "\n\n".join(
        _message_text(message, authors) for message in conversation["messages"]) + "\n"


def _message_text(message: Row, authors: dict[tuple[str, int], str]) -> str:
    kind = str(message["author_kind"])
    who = authors.get((kind, message["author_id"]), AUTHOR_KINDS.get(kind, kind))
    note = ", internal note" if message["internal"] else ""
    lines = [f"{_text_time(message['created_at'])} · {who} ({kind}{note})", message["body"]]
    lines += [f"  Attachment: {a['filename']}" + (f" ({a['file']})" if a["file"] else
                                                  " (file missing)")
              for a in message["attachments"]]
    return "\n".join(lines)


def _authors(session: Session, rows: dict[str, list[Row]]) -> dict[tuple[str, int], str]:
    """Names to show for the messages' authors: staff names, the customer's own."""
    names = {("customer", c["id"]): c["name"] or AUTHOR_KINDS["customer"]
             for c in rows.get("customers", [])}
    staff = {m["author_id"] for m in rows.get("messages", []) if m["author_kind"] == "agent"}
    names |= {("agent", user_id): name for user_id, name in session.execute(
        select(User.id, User.name).where(User.id.in_(staff - {None})))}
    return names


def _manifest(customer_id: int, counts: dict[str, int], others: dict[str, list[Row]],
              where: Where, files: dict[int, str | None]) -> Row:
    place = {name: "profile.json" for name in IN_PROFILE} | {
        name: "conversations/" for name in IN_CONVERSATIONS} | {
        name: f"data/{name}.json" for name in others}
    return {"customer_id": customer_id, "exported_at": utcnow(),
            "tables": {name: {"rows": n, "in": place[name]} for name, n in sorted(counts.items())},
            "excluded": {table.name: EXCLUDED[table.name] for table in where
                         if table.name in EXCLUDED},
            "missing_files": sorted(i for i, name in files.items() if name is None)}


def _by_conversation(rows: list[Row]) -> dict[int, list[Row]]:
    return _grouped(rows, "conversation_id")


def _grouped(rows: list[Row], key: str) -> dict[Any, list[Row]]:
    grouped: dict[Any, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(row)
    return grouped


def _put(archive: zipfile.ZipFile, name: str, value: Any) -> None:
    archive.writestr(name, json.dumps(value, default=_jsonable, ensure_ascii=False, indent=2))


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not exported")


def _text_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
