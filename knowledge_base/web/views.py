"""Knowledge managers' pages: the article list, the editor with its live preview, publication,
history (diff, restore), readers' feedback and the unanswered questions.

Each form posts to its own view, which calls one service and redirects back; a refused save
shows the editor again with what was typed, so nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.errors import DomainError
from helpdesk.events import Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.services.common import get_or_404
from helpdesk.uow import UnitOfWork
from helpdesk.web.actions import current_actor, error_text, run_action
from knowledge_base import articles
from knowledge_base.feedback import feedback_counts, recent_comments
from knowledge_base.markdown import render_markdown
from knowledge_base.models import Article, ArticleContent, ArticleStatus, Audience
from knowledge_base.queries import (
    ArticleFilter,
    categories,
    list_articles,
    unanswered_questions,
)
from knowledge_base.web import bp

E = TypeVar("E", bound=StrEnum)
QUESTIONS_SHOWN = 100
ESCALATION_REASONS = {
    "low_confidence": _l("no article answered it well enough"),
    "no_articles": _l("no article at all"),
    "unhelpful_streak": _l("the customer kept asking after two answers"),
    "marked_unhelpful": _l("the customer said the answer did not help"),
    "asked_for_human": _l("the customer asked for a person"),
    "assistant_handoff": _l("the assistant (Rasa) handed it over"),
}
COMMENTS_SHOWN = 50

LABELS = {
    "article_status": {"draft": _l("Draft"), "published": _l("Published"),
                       "archived": _l("Archived")},
    "audience": {"public": _l("Public"), "internal": _l("Internal")},
}


@dataclass(frozen=True)
class StatusAction:
    """A publication button: the service behind it, and the status it leads to."""

    name: str
    move: Callable[[UnitOfWork, Actor, int], Article]
    target: ArticleStatus
    button: LazyString
    done: LazyString


STATUS_ACTIONS = {action.name: action for action in (
    StatusAction("publish", articles.publish, ArticleStatus.PUBLISHED, _l("Publish"),
                 _l("Article published.")),
    StatusAction("unpublish", articles.unpublish, ArticleStatus.DRAFT, _l("Back to draft"),
                 _l("Article moved back to draft.")),
    StatusAction("archive", articles.archive, ArticleStatus.ARCHIVED, _l("Archive"),
                 _l("Article archived.")),
)}


@bp.context_processor
def kb_context() -> dict[str, object]:
    return {"kb_label": kb_label, "statuses": list(ArticleStatus), "audiences": list(Audience)}


def kb_label(kind: str, value: object) -> str:
    """The translated name of an article status or audience."""
    key = str(getattr(value, "value", value))
    return str(LABELS[kind].get(key, key))


@bp.get("/")
@requires(Permission.KNOWLEDGE_MANAGE)
def article_list() -> ResponseReturnValue:
    filters = ArticleFilter(
        search=request.args.get("q", "").strip() or None,
        status=_choice(ArticleStatus, request.args.get("status")),
        language=request.args.get("language") or None,
        audience=_choice(Audience, request.args.get("audience")),
        category=request.args.get("category") or None)
    page = list_articles(db.session, filters,
                         page=max(1, request.args.get("page", 1, type=int)),
                         per_page=current_app.config["COMPTOIR"].page_size)
    return render_template("kb/articles.html", page=page, filters=filters,
                           categories=categories(db.session))


@bp.get("/articles/new")
@requires(Permission.KNOWLEDGE_MANAGE)
def new_article() -> ResponseReturnValue:
    return _editor(None, ArticleContent(title="", language=_default_language()))


@bp.post("/articles/new")
@requires(Permission.KNOWLEDGE_MANAGE)
def create_article() -> ResponseReturnValue:
    return _save(None, lambda uow, content: articles.create_article(
        uow, current_actor(), content), _("Article created."))


@bp.get("/articles/<int:article_id>")
@requires(Permission.KNOWLEDGE_MANAGE)
def edit_article(article_id: int) -> ResponseReturnValue:
    article = get_or_404(db.session, Article, article_id)
    return _editor(article, article.content)


@bp.post("/articles/<int:article_id>")
@requires(Permission.KNOWLEDGE_MANAGE)
def save_article(article_id: int) -> ResponseReturnValue:
    return _save(article_id, lambda uow, content: articles.update_article(
        uow, current_actor(), article_id, content), _("Article saved."))


@bp.post("/preview")
@requires(Permission.KNOWLEDGE_MANAGE)
def preview() -> ResponseReturnValue:
    """The body as readers will see it (htmx swaps it in while the manager types)."""
    return render_template("kb/_preview.html", html=_rendered(request.form.get("body", "")))


@bp.post("/articles/<int:article_id>/<any(publish, unpublish, archive):action>")
@requires(Permission.KNOWLEDGE_MANAGE)
def change_status(article_id: int, action: str) -> ResponseReturnValue:
    change = STATUS_ACTIONS[action]
    return run_action(lambda uow: change.move(uow, current_actor(), article_id), str(change.done),
                      url_for("kb.edit_article", article_id=article_id))


@bp.get("/articles/<int:article_id>/history")
@requires(Permission.KNOWLEDGE_MANAGE)
def history(article_id: int) -> ResponseReturnValue:
    """The versions, newest first, and the diff of two (``a`` → ``b``, default: the last change)."""
    article = get_or_404(db.session, Article, article_id)
    new = request.args.get("b", type=int) or article.current_version
    old = request.args.get("a", type=int) or max(1, new - 1)
    diffs = articles.diff_versions(db.session, article_id, old, new) if old != new else []
    return render_template("kb/history.html", article=article, old=old, new=new, diffs=diffs,
                           versions=articles.list_versions(db.session, article_id))


@bp.post("/articles/<int:article_id>/versions/<int:number>/restore")
@requires(Permission.KNOWLEDGE_MANAGE)
def restore_version(article_id: int, number: int) -> ResponseReturnValue:
    return run_action(
        lambda uow: articles.restore_version(uow, current_actor(), article_id, number),
        _("Version %(number)s restored as a new version.", number=number),
        url_for("kb.history", article_id=article_id))


@bp.get("/feedback")
@requires(Permission.KNOWLEDGE_MANAGE)
def feedback() -> ResponseReturnValue:
    return render_template("kb/feedback.html", counts=feedback_counts(db.session),
                           comments=recent_comments(db.session, limit=COMMENTS_SHOWN))


@bp.get("/unanswered")
@requires(Permission.KNOWLEDGE_MANAGE)
def unanswered() -> ResponseReturnValue:
    return render_template("kb/unanswered.html", escalation_reasons=ESCALATION_REASONS,
                           questions=unanswered_questions(db.session, limit=QUESTIONS_SHOWN),
                           comments=recent_comments(db.session, helpful=False,
                                                    limit=COMMENTS_SHOWN))


def _save(article_id: int | None, write: Callable[[UnitOfWork, ArticleContent], Article],
          done: str) -> ResponseReturnValue:
    content = _form_content()
    try:
        with unit_of_work() as uow:
            saved_id = write(uow, content).id
    except DomainError as exc:
        flash(error_text(exc), "error")
        article = get_or_404(db.session, Article, article_id) if article_id else None
        return _editor(article, content), exc.status
    flash(done, "success")
    return redirect(url_for("kb.edit_article", article_id=saved_id))


def _editor(article: Article | None, content: ArticleContent) -> str:
    actions = [a for a in STATUS_ACTIONS.values() if article and a.target != article.status]
    return render_template("kb/editor.html", article=article, content=content,
                           categories=categories(db.session), status_actions=actions,
                           preview_html=_rendered(content.body))


def _rendered(body: str) -> Markup:
    # render_markdown sanitizes (an allow-list): what it returns is safe to insert as is.
    return Markup(render_markdown(body))  # noqa: S704


def _form_content() -> ArticleContent:
    """The editor's fields; the service checks and normalises them."""
    form = request.form
    return ArticleContent(
        title=form.get("title", ""), body=form.get("body", ""),
        language=form.get("language", ""), category=form.get("category", ""),
        tags=_items(form.get("tags", "").split(",")),
        audience=form.get("audience", ""),  # type: ignore[arg-type]  (checked by the service)
        example_questions=_items(form.get("example_questions", "").splitlines()))


def _items(parts: list[str]) -> list[str]:
    return [part.strip() for part in parts if part.strip()]


def _choice(enum: type[E], value: str | None) -> E | None:
    """A filter's value, or None for "any" (an unknown value too)."""
    try:
        return enum(value) if value else None
    except ValueError:
        return None


def _default_language() -> str:
    return current_app.config["COMPTOIR"].default_locale
