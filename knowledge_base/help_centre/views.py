"""Help-centre pages: open to anyone, server-rendered, in the language named by the URL.

Only published public articles exist here: any other id is a 404, exactly like an unknown one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TypeVar

from flask import (
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup

from helpdesk.auth.guard import public
from helpdesk.errors import NotFound
from helpdesk.events import Actor
from helpdesk.extensions import db
from helpdesk.web.actions import run_action
from knowledge_base.feedback import readable_article, record_feedback
from knowledge_base.help_centre import bp
from knowledge_base.models import Article
from knowledge_base.queries import help_centre_articles, search_results
from knowledge_base.search import SearchFilters
from knowledge_base.search import search as search_articles

F = TypeVar("F", bound=Callable[..., ResponseReturnValue])
ASSETS_DIR = Path(__file__).resolve().parent.parent / "static"
SEARCH_RESULTS = 10
MAX_QUERY = 500
MAX_SLUG = 80
READER = Actor("customer")  # an anonymous reader; a known customer will carry their id


@bp.app_template_global()
def help_article_url(article: Article) -> str:
    """The article's canonical help-centre address: ``/help/<lang>/articles/<id>-<slug>``."""
    return url_for("help.article", lang=article.language, article_id=article.id,
                   slug=slugify(article.title))


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by hyphens ("Où est mon colis ?" → "ou-est-mon-colis")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:MAX_SLUG].rstrip("-") or "article"


def in_language(view: F) -> F:
    """Run the view in the URL's language (an unknown one is a 404)."""
    @wraps(view)
    def localized(lang: str, **kwargs: object) -> ResponseReturnValue:
        if lang not in _languages():
            raise NotFound(f"the help centre has no language {lang!r}", field="lang")
        with force_locale(lang):
            return view(lang, **kwargs)
    return localized  # type: ignore[return-value]


@bp.get("/assets/<path:filename>")
@public
def asset(filename: str) -> ResponseReturnValue:
    """The help centre's and the knowledge managers' stylesheets."""
    return send_from_directory(ASSETS_DIR, filename)


@bp.get("/")
@public
def home() -> ResponseReturnValue:
    """To the visitor's language, as their browser states it."""
    languages = _languages()
    return redirect(url_for("help.index", lang=request.accept_languages.best_match(
        languages, default=current_app.config["COMPTOIR"].default_locale)))


@bp.get("/<lang>/")
@public
@in_language
def index(lang: str) -> ResponseReturnValue:
    return render_template("help/index.html", lang=lang,
                           articles=help_centre_articles(db.session, lang))


@bp.get("/<lang>/search")
@public
@in_language
def search(lang: str) -> ResponseReturnValue:
    query = request.args.get("q", "").strip()[:MAX_QUERY]
    hits = search_articles(query, SearchFilters(language=lang), SEARCH_RESULTS) if query else []
    return render_template("help/search.html", lang=lang, query=query,
                           results=search_results(db.session, hits))


@bp.get("/<lang>/articles/<int:article_id>")
@bp.get("/<lang>/articles/<int:article_id>-<slug>")
@public
@in_language
def article(lang: str, article_id: int, slug: str | None = None) -> ResponseReturnValue:
    found = readable_article(db.session, article_id)
    canonical = help_article_url(found)
    if request.path != canonical:  # an old title, no slug or another language: one address
        return redirect(canonical, code=301)
    # The body was rendered through the sanitizer when it was saved (knowledge_base.markdown).
    body = Markup(found.body_html)  # noqa: S704
    return render_template("help/article.html", lang=lang, article=found, body=body)


@bp.post("/<lang>/articles/<int:article_id>/feedback")
@public
@in_language
def feedback(lang: str, article_id: int) -> ResponseReturnValue:
    helpful = request.form.get("helpful") == "yes"
    comment = request.form.get("comment", "")
    back = url_for("help.article", lang=lang, article_id=article_id) + "#feedback"
    return run_action(lambda uow: record_feedback(uow, READER, article_id, helpful=helpful,
                                                  comment=comment),
                      _("Thank you for your feedback."), back)


@bp.errorhandler(NotFound)
def not_found(exc: NotFound) -> ResponseReturnValue:
    """A help-centre page, in the visitor's language, rather than the staff error page."""
    lang = (request.view_args or {}).get("lang")
    with force_locale(lang if lang in _languages() else _default_language()):
        return render_template("help/not_found.html", lang=lang), 404


def _languages() -> list[str]:
    return current_app.config["COMPTOIR"].languages


def _default_language() -> str:
    return current_app.config["COMPTOIR"].default_locale
