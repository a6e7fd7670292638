"""The content gaps pages: escalated questions clustered by meaning, ranked; each gap can be
dismissed, reopened, marked covered by an article, or drafted into one from the agents'
replies."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.errors import DomainError
from helpdesk.extensions import db, unit_of_work
from helpdesk.orm import utcnow
from helpdesk.web.actions import (
    current_actor,
    error_text,
    form_optional_id,
    run_action,
    safe_next,
)
from knowledge_base.gaps import refresh_now
from knowledge_base.gaps.drafting import draft_article
from knowledge_base.gaps.queries import GapFilter, GapSort, get_gap, list_gaps
from knowledge_base.gaps.service import set_status
from knowledge_base.models import GapStatus
from knowledge_base.search import search_service
from knowledge_base.web import bp
from knowledge_base.web.views import ESCALATION_REASONS, _choice

LIST_EXAMPLES = 3
DETAIL_EXAMPLES = 100
ANY = "any"
GAP_STATUSES = {"open": _l("Open"), "dismissed": _l("Dismissed"), "covered": _l("Covered")}
SORTS = {"volume": _l("Most questions"), "growth": _l("Fastest growing")}


@bp.get("/gaps")
@requires(Permission.KNOWLEDGE_MANAGE)
def gaps() -> ResponseReturnValue:
    filters = _filters()
    page = list_gaps(db.session, filters, utcnow(),
                     page=max(1, request.args.get("page", 1, type=int)),
                     per_page=current_app.config["COMPTOIR"].page_size,
                     examples=LIST_EXAMPLES)
    return render_template("kb/gaps.html", page=page, filters=filters,
                           status=filters.status.value if filters.status else ANY,
                           **_labels())


@bp.get("/gaps/<int:cluster_id>")
@requires(Permission.KNOWLEDGE_MANAGE)
def gap(cluster_id: int) -> ResponseReturnValue:
    return render_template("kb/gap.html", **_labels(), gap=get_gap(
        db.session, cluster_id, utcnow(), examples=DETAIL_EXAMPLES))


@bp.post("/gaps/<int:cluster_id>/status")
@requires(Permission.KNOWLEDGE_MANAGE)
def gap_status(cluster_id: int) -> ResponseReturnValue:
    return run_action(
        lambda uow: set_status(uow, current_actor(), cluster_id, request.form.get("status", ""),
                               form_optional_id("article_id")),
        _("Content gap updated."), _back(cluster_id))


@bp.post("/gaps/<int:cluster_id>/draft")
@requires(Permission.KNOWLEDGE_MANAGE)
def draft_gap_article(cluster_id: int) -> ResponseReturnValue:
    """Draft the article, then open it in the editor for the manager to rework."""
    try:
        with unit_of_work() as uow:
            article = draft_article(uow, current_actor(), cluster_id,
                                    search_service().embedder)
    except DomainError as exc:
        flash(error_text(exc), "error")
        return redirect(_back(cluster_id))
    flash(_("Draft created from the agents' replies: check it, remove what is personal, "
            "then publish."), "success")
    return redirect(url_for("kb.edit_article", article_id=article.id))


@bp.post("/gaps/refresh")
@requires(Permission.KNOWLEDGE_MANAGE)
def refresh_gaps() -> ResponseReturnValue:
    clustered = refresh_now()
    flash(ngettext("%(num)d new question clustered.", "%(num)d new questions clustered.",
                   clustered), "success")
    return redirect(url_for("kb.gaps"))


def _filters() -> GapFilter:
    """Open gaps by volume unless asked otherwise (``status=any``: every status)."""
    status = request.args.get("status")
    return GapFilter(
        status=None if status == ANY else _choice(GapStatus, status) or GapStatus.OPEN,
        language=request.args.get("language") or None,
        sort=_choice(GapSort, request.args.get("sort")) or GapSort.VOLUME)


def _back(cluster_id: int) -> str:
    return safe_next(request.form.get("next"), url_for("kb.gap", cluster_id=cluster_id))


def _labels() -> dict[str, object]:
    return {"gap_statuses": GAP_STATUSES, "sorts": SORTS,
            "escalation_reasons": ESCALATION_REASONS}
