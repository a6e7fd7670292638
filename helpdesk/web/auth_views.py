"""Login and logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from helpdesk.auth.guard import public
from helpdesk.extensions import db
from helpdesk.services.staff import authenticate
from helpdesk.web import bp


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    if request.method == "POST":
        user = authenticate(db.session, request.form.get("email", ""),
                            request.form.get("password", ""))
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        flash(_("Wrong email or password."), "error")
    return render_template("login.html")


@bp.route("/logout", methods=["POST"])
@public
def logout() -> ResponseReturnValue:
    logout_user()
    return redirect(url_for("web.login"))


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect would let a link send agents anywhere."""
    if target and target.startswith("/") and not target.startswith("//") \
            and not urlsplit(target).netloc:
        return target
    return url_for("web.index")


@bp.route("/")
@public
def index() -> ResponseReturnValue:
    return redirect(url_for("web.login"))
