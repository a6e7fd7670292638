"""HTTP side of live chat: customers upload attachments and download them by signed link.

Uploads come from the brand's pages (another origin): CORS is answered per site, from its
allowed origins. The visitor proves who they are with the same token as on ``/chat``.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, jsonify, request, send_file
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from helpdesk.auth.guard import public
from helpdesk.errors import DomainError, NotFound, PermissionDenied
from helpdesk.extensions import csrf, db, unit_of_work
from helpdesk.models import Attachment
from helpdesk.services import attachments, chat, sites
from helpdesk.services.chat import Visitor

bp = Blueprint("chat_files", __name__, url_prefix="/chat")
LINK_MAX_AGE = 7 * 24 * 3600
ATTACHMENTS_FOLDER = "attachments"


def storage_dir() -> Path:
    return current_app.config["COMPTOIR"].instance_dir / ATTACHMENTS_FOLDER


def attachment_url(attachment_id: int) -> str:
    """A link anyone holding it can download for a week (chat messages carry it)."""
    token = _serializer().dumps(attachment_id)
    return f"/chat/attachments/{token}"


@bp.route("/attachments", methods=["OPTIONS"])
@public
def upload_preflight() -> ResponseReturnValue:
    return _with_cors(current_app.response_class(status=204))


@bp.post("/attachments")
@public
@csrf.exempt
def upload() -> ResponseReturnValue:
    """Store a file for the visitor's conversation; the id then goes in ``message.send``."""
    try:
        visitor = _visitor()
        file = request.files.get("file")
        if file is None:
            raise DomainError("send the file in the multipart field 'file'", field="file")
        with unit_of_work() as uow:
            conversation = chat.own_conversation(uow.session, visitor,
                                                 request.form.get("conversation_id", type=int))
            stored = attachments.store_upload(uow.session, storage_dir(), conversation,
                                              file.filename or "", file.stream)
            uow.commit()
            body = {"id": stored.id, "filename": stored.filename,
                    "content_type": stored.content_type, "size": stored.size,
                    "url": attachment_url(stored.id)}
        return _with_cors(jsonify(body)), 201
    except DomainError as exc:
        error = {"code": exc.code, "message": exc.message, "fields": {exc.field: exc.message}}
        return _with_cors(jsonify({"error": error})), exc.status


@bp.get("/attachments/<token>")
@public
def download(token: str) -> ResponseReturnValue:
    """The file, always as a download, under the name it was sent with."""
    try:
        attachment_id = _serializer().loads(token, max_age=LINK_MAX_AGE)
    except SignatureExpired:
        raise NotFound("this link has expired", field="token") from None
    except BadSignature:
        raise NotFound("no such attachment", field="token") from None
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("no such attachment", field="token")
    response = send_file(storage_dir() / attachment.storage_path, as_attachment=True,
                         download_name=attachment.filename, mimetype=attachment.content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _visitor() -> Visitor:
    site = sites.site_by_key(db.session, request.headers.get("X-Comptoir-Site"))
    token = request.headers.get("X-Comptoir-Visitor")
    if site is None or not chat.valid_visitor_token(token):
        raise PermissionDenied("send X-Comptoir-Site and X-Comptoir-Visitor",
                               field="X-Comptoir-Visitor")
    if not sites.origin_allowed(site, request.headers.get("Origin")):
        raise PermissionDenied("this page's origin may not use this site's chat",
                               field="Origin")
    user_id = request.headers.get("X-Comptoir-User-Id")
    if user_id is not None and not sites.verify_user(
            site, user_id, request.headers.get("X-Comptoir-User-Hash", "")):
        raise PermissionDenied("identity verification failed", field="X-Comptoir-User-Hash")
    return Visitor(site.id, token, user_id)


def _with_cors(response: ResponseReturnValue) -> ResponseReturnValue:
    """Any origin may call; the site's own origin list is checked on the request itself."""
    origin = request.headers.get("Origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
        response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = \
            "X-Comptoir-Site, X-Comptoir-Visitor, X-Comptoir-User-Id, X-Comptoir-User-Hash"
    return response


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="chat-attachment")
