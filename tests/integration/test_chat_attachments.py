"""Chat attachments: upload over HTTP with the visitor token, send, download by link."""

import io

import pytest

from helpdesk.extensions import socketio
from helpdesk.services import attachments

pytestmark = pytest.mark.usefixtures("silent_assistant")  # the transport alone

NS = "/chat"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def chat(app, make):
    site = make.site()
    sio = socketio.test_client(app, namespace=NS, auth={"site": site.key})
    [session] = [r["args"][0] for r in sio.get_received(NS) if r["name"] == "session"]
    conversation = sio.emit("conversation.start", {}, namespace=NS, callback=True)
    return {"sio": sio, "site": site, "visitor": session["visitor"],
            "conversation_id": conversation["conversation"]["id"]}


def upload(client, chat, data: bytes, name="photo.png", **headers):
    return client.post("/chat/attachments", data={
        "conversation_id": str(chat["conversation_id"]), "file": (io.BytesIO(data), name)},
        headers={"X-Comptoir-Site": chat["site"].key, "X-Comptoir-Visitor": chat["visitor"],
                 "Origin": "https://shop.example", **headers})


def test_an_uploaded_image_is_sent_and_downloaded_as_an_attachment(client, chat):
    response = upload(client, chat, PNG, name="../../etc/lamp\x07.png")
    assert response.status_code == 201, response.get_json()
    assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    stored = response.get_json()
    assert (stored["filename"], stored["content_type"]) == ("lamp.png", "image/png")
    sent = chat["sio"].emit("message.send", {
        "conversation_id": chat["conversation_id"], "client_id": "c-1", "body": "",
        "attachments": [stored["id"]]}, namespace=NS, callback=True)
    [file] = sent["message"]["attachments"]
    with client.get(file["url"]) as download:
        assert download.data == PNG
        assert download.headers["Content-Disposition"].startswith("attachment")
        assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_the_type_comes_from_the_bytes_not_the_name(client, chat):
    response = upload(client, chat, b"MZ\x90\x00binary\x00", name="invoice.pdf")
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_type"


def test_a_file_over_the_limit_is_refused(client, chat, monkeypatch):
    monkeypatch.setattr(attachments, "MAX_SIZE", 32)
    assert upload(client, chat, PNG).status_code == 413


def test_a_visitor_cannot_attach_to_another_conversation(app, client, chat, make):
    other = socketio.test_client(app, namespace=NS, auth={"site": chat["site"].key})
    [session] = [r["args"][0] for r in other.get_received(NS) if r["name"] == "session"]
    stranger = {**chat, "visitor": session["visitor"]}
    assert upload(client, stranger, PNG).status_code == 404
    no_token = upload(client, {**chat, "visitor": "short"}, PNG)
    assert no_token.status_code == 403


def test_a_file_is_sent_once_and_only_with_its_own_conversation(client, chat):
    file_id = upload(client, chat, PNG).get_json()["id"]
    send = {"conversation_id": chat["conversation_id"], "body": "here", "attachments":
            [file_id]}
    assert chat["sio"].emit("message.send", {**send, "client_id": "a"}, namespace=NS,
                            callback=True)["ok"]
    again = chat["sio"].emit("message.send", {**send, "client_id": "b"}, namespace=NS,
                             callback=True)
    assert again["error"]["field"] == "attachments"


def test_a_forged_download_link_finds_nothing(client):
    assert client.get("/chat/attachments/not-a-signed-token").status_code == 404


def test_the_preflight_allows_the_visitor_headers(client):
    response = client.options("/chat/attachments", headers={"Origin": "https://shop.example"})
    assert response.status_code == 204
    assert "X-Comptoir-Visitor" in response.headers["Access-Control-Allow-Headers"]
