"""``comptoir email``: import .eml, mbox and Maildir; list and reprocess the quarantine."""

from __future__ import annotations

import json
import mailbox

from helpdesk.services import email_intake
from tests.factories import raw_email


def _lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines()]


def _import(runner, *paths) -> list[dict]:
    result = runner.invoke(args=["email", "import", *map(str, paths)])
    assert result.exit_code == 0, result.output
    return _lines(result.output)


def test_import_a_maildir_in_delivery_order(runner, tmp_path):
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "cur" / "1790000001.M1.host:2,S").write_bytes(
        raw_email(message_id="first@mail.example"))
    (maildir / "new" / "1790000002.M2.host").write_bytes(
        raw_email(in_reply_to="first@mail.example", body="Any news?"))
    *messages, summary = _import(runner, maildir)
    assert [(m["outcome"], m["source"].rsplit("/", 1)[-1]) for m in messages] == [
        ("new_conversation", "1790000001.M1.host:2,S"), ("appended", "1790000002.M2.host")]
    assert messages[0]["conversation_id"] == messages[1]["conversation_id"]
    assert summary == {"summary": {"messages": 2, "new_conversation": 1, "appended": 1}}


def test_import_an_mbox_and_an_eml(runner, tmp_path):
    box = mailbox.mbox(tmp_path / "archive.mbox")
    box.add(raw_email(sender="one@example.com"))
    box.add(raw_email(sender="two@example.com"))
    box.flush()
    box.close()
    eml = tmp_path / "single.eml"
    eml.write_bytes(raw_email(sender="three@example.com"))
    *messages, summary = _import(runner, tmp_path / "archive.mbox", eml)
    assert [m["source"] for m in messages] == [
        f"{tmp_path / 'archive.mbox'}#1", f"{tmp_path / 'archive.mbox'}#2", str(eml)]
    assert summary["summary"] == {"messages": 3, "new_conversation": 3}


def test_importing_again_reports_duplicates(runner, tmp_path):
    eml = tmp_path / "a.eml"
    eml.write_bytes(raw_email())
    first = _import(runner, eml)[0]
    again, summary = _import(runner, eml)
    assert (again["outcome"], again["conversation_id"]) == ("duplicate", first["conversation_id"])
    assert summary["summary"] == {"messages": 1, "duplicate": 1}


def test_a_missing_path_fails_before_importing_anything(runner, tmp_path):
    eml = tmp_path / "a.eml"
    eml.write_bytes(raw_email())
    result = runner.invoke(args=["email", "import", str(eml), str(tmp_path / "nope.eml")])
    assert result.exit_code == 2
    assert "nope.eml does not exist" in result.output
    assert "new_conversation" not in result.output


def test_a_folder_that_is_not_a_maildir_is_refused(runner, tmp_path):
    result = runner.invoke(args=["email", "import", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a Maildir" in result.output


def test_quarantine_listing_and_reprocess(runner, tmp_path, monkeypatch):
    bad, empty = tmp_path / "bad.eml", tmp_path / "empty.eml"
    bad.write_bytes(raw_email())
    empty.write_bytes(b"")
    monkeypatch.setattr(email_intake, "_deliver", lambda *_a: 1 / 0)
    quarantined, rejected, summary = _import(runner, bad, empty)
    assert (quarantined["outcome"], quarantined["reason"]) == (
        "quarantined", "ZeroDivisionError: division by zero")
    assert rejected["outcome"] == "rejected" and "empty" in rejected["reason"]
    assert summary["summary"] == {"messages": 2, "quarantined": 1, "rejected": 1}
    listing = runner.invoke(args=["email", "quarantine"]).output.splitlines()
    assert listing[0].split() == ["ID", "RECEIVED", "SOURCE", "ATTEMPTS", "REASON"]
    assert str(bad) in listing[1] and "ZeroDivisionError" in listing[1]
    monkeypatch.undo()
    result = runner.invoke(args=["email", "reprocess", "--all"])
    assert result.exit_code == 0, result.output
    assert [line["outcome"] for line in _lines(result.output)] == ["new_conversation"]
    assert runner.invoke(args=["email", "quarantine"]).output.strip() == "(none)"


def test_reprocess_needs_an_id_or_all(runner):
    result = runner.invoke(args=["email", "reprocess"])
    assert result.exit_code == 2 and "give one email id, or --all" in result.output
    missing = runner.invoke(args=["email", "reprocess", "999"])
    assert missing.exit_code == 1 and "inbound email 999 does not exist" in missing.output
