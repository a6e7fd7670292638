"""Login, logout, and the landing page after login."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from helpdesk.auth.guard import public, requires
from helpdesk.auth.policy import Permission
from helpdesk.extensions import db
from helpdesk.services.staff import authenticate
from helpdesk.web import bp
from helpdesk.web.actions import safe_next
from helpdesk.web.context import can


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    target = safe_next(request.args.get("next"), url_for("web.index"))
    if current_user.is_authenticated:
        return redirect(target)
    if request.method == "POST":
        user = authenticate(db.session, request.form.get("email", ""),
                            request.form.get("password", ""))
        if user is not None:
            login_user(user)
            return redirect(target)
        flash(_("Wrong email or password."), "error")
    return render_template("web/login.html", email=request.form.get("email", ""))


@bp.post("/logout")
@public
def logout() -> ResponseReturnValue:
    logout_user()
    flash(_("You are logged out."), "success")
    return redirect(url_for("web.login"))


@bp.get("/")
@requires(Permission.USERS_READ)  # every staff role holds it: this only picks the landing page
def index() -> ResponseReturnValue:
    if can(Permission.CONVERSATIONS_READ):
        return redirect(url_for("web.inbox"))
    return redirect(url_for("web.account"))
