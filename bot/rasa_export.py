"""The knowledge base as Rasa 3.x training data: one retrieval intent per article.

``comptoir rasa export-faq OUT_DIR`` writes, for the published public articles:

- ``data/nlu_faq.yml``: a sub-intent ``faq/<id>-<slug>`` per article, its title and its
  example questions as examples (an example already given to an earlier article is left
  out: Rasa cannot learn one text as two answers);
- ``data/responses_faq.yml``: ``utter_faq/<id>-<slug>``, the short answer the built-in
  engine gives, with a custom payload citing the article (``citation``, the shape the
  Rasa engine reads) and naming it (``faq``: key and external id);
- ``data/rules_faq.yml`` (the rule ``faq`` → ``utter_faq``) and ``domain_faq.yml`` (the
  intent ``faq``: Rasa adds the retrieval action ``utter_faq`` and its responses itself).

Articles are written in id order and examples in their order: the same knowledge base
always gives the same files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.kb_engine import EXTRACT_CHARS, article_url, plain_text, shortened
from bot.responses import Citation
from knowledge_base.help_centre.views import slugify
from knowledge_base.models import Article, ArticleStatus, Audience
from knowledge_base.search.chunking import chunk_article

RASA_FORMAT = "3.1"
INTENT = "faq"
NLU_FILE = Path("data", "nlu_faq.yml")
RESPONSES_FILE = Path("data", "responses_faq.yml")
RULES_FILE = Path("data", "rules_faq.yml")
DOMAIN_FILE = Path("domain_faq.yml")
# Rasa reads "[text](type)", "[text]{...}" and "[text][...]" in an example as an entity.
ENTITY_MARKUP = re.compile(r"\](?=[({\[])")
GENERATED = ("# Written by `comptoir rasa export-faq` from the knowledge base: re-export "
             "rather than edit.\n")
# Declaring utter_faq too would only draw a "duplicated action" warning from Rasa.
DOMAIN_NOTE = ("# Rasa adds the action utter_faq and its responses (data/responses_faq.yml)\n"
               "# to the domain by itself; the rule in data/rules_faq.yml needs the intent.\n")


class RasaExportError(ValueError):
    """Nothing to export, or OUT_DIR cannot be written (the message says which)."""


@dataclass(frozen=True)
class FaqEntry:
    """One article as a retrieval sub-intent and its response."""

    key: str  # the sub-intent: faq/<key>, utter_faq/<key>
    examples: tuple[str, ...]
    answer: str
    citation: Citation
    external_id: str | None


@dataclass(frozen=True)
class ExportSummary:
    entries: int
    examples: int
    duplicates: int  # example texts left out: an earlier article has them
    skipped: tuple[int, ...]  # articles left without any example of their own
    files: tuple[Path, ...]

    def __str__(self) -> str:
        skipped = (f"; left out article(s) {', '.join(map(str, self.skipped))}: every "
                   "example belongs to an earlier article" if self.skipped else "")
        return (f"wrote {self.entries} FAQ intents ({self.examples} examples, "
                f"{self.duplicates} duplicate examples left out{skipped}) to "
                + ", ".join(str(path) for path in self.files))


def export_faq(session: Session, out_dir: Path, language: str | None = None,
               ) -> ExportSummary:
    """Write the Rasa FAQ files of the published public articles (in ``language`` when
    given) into ``out_dir``, created when missing; the files are replaced."""
    articles = published_articles(session, language)
    if not articles:
        where = f" in language {language!r}" if language else ""
        raise RasaExportError(f"no published public articles{where}: nothing to export")
    entries, duplicates = faq_entries(articles)
    files = write_files(out_dir, {
        NLU_FILE: to_yaml(nlu_data(entries)), RESPONSES_FILE: to_yaml(responses_data(entries)),
        RULES_FILE: to_yaml(rules_data()), DOMAIN_FILE: to_yaml(domain_data(), DOMAIN_NOTE)})
    used = {entry.citation.article_id for entry in entries}
    return ExportSummary(len(entries), sum(len(e.examples) for e in entries), duplicates,
                         tuple(a.id for a in articles if a.id not in used), files)


def published_articles(session: Session, language: str | None) -> list[Article]:
    """The articles the built-in engine answers from (published, public), by id."""
    query = select(Article).where(Article.status == ArticleStatus.PUBLISHED,
                                  Article.audience == Audience.PUBLIC)
    if language:
        query = query.where(Article.language == language)
    return list(session.scalars(query.options(selectinload(Article.questions))
                                .order_by(Article.id)))


def faq_entries(articles: Iterable[Article]) -> tuple[list[FaqEntry], int]:
    """An entry per article with examples of its own; and how many examples were
    dropped because an earlier article has them."""
    taken: set[str] = set()
    entries, duplicates = [], 0
    for article in articles:
        examples = dict.fromkeys(faq_examples(article))
        own = tuple(text for text in examples if text not in taken)
        duplicates += len(examples) - len(own)
        taken.update(own)
        if own:
            entries.append(faq_entry(article, own))
    return entries, duplicates


def faq_examples(article: Article) -> list[str]:
    """The title and the example questions, each on one line, entity markup defused."""
    texts = (" ".join(text.split()) for text in (article.title, *article.example_questions))
    return [ENTITY_MARKUP.sub("] ", text) for text in texts if text]


def faq_entry(article: Article, examples: tuple[str, ...]) -> FaqEntry:
    citation = Citation(article.id, article.current_version, article.title,
                        article_url(article.id, article.language, article.title))
    return FaqEntry(faq_key(article), examples, short_answer(article), citation,
                    article.external_id)


def faq_key(article: Article) -> str:
    """``<id>-<slug>``: unique, and no ``/`` (Rasa's sub-intent separator)."""
    return f"{article.id}-{slugify(article.title)}"


def short_answer(article: Article) -> str:
    """What the built-in engine answers when an example question matches best: the
    first body chunk, shortened; the title when the body is empty."""
    text = plain_text(chunk_article(article.content)[0].text)
    return shortened(text, EXTRACT_CHARS) if text else article.title


# --- the files ----------------------------------------------------------------------------


class _Quoted(str):
    """Written double-quoted: names Rasa reads as keys."""


class _Block(str):
    """Written as a literal block: the ``examples`` of an intent."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Quoted, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style='"'))
_Dumper.add_representer(_Block, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:str", text, style="|"))


def nlu_data(entries: Sequence[FaqEntry]) -> dict[str, Any]:
    return {"version": _Quoted(RASA_FORMAT), "nlu": [
        {"intent": _Quoted(f"{INTENT}/{entry.key}"),
         "examples": _Block("".join(f"- {text}\n" for text in entry.examples))}
        for entry in entries]}


def responses_data(entries: Sequence[FaqEntry]) -> dict[str, Any]:
    return {"version": _Quoted(RASA_FORMAT), "responses": {
        _Quoted(f"utter_{INTENT}/{entry.key}"): [{"text": entry.answer, "custom": {
            "citation": {"article_id": entry.citation.article_id,
                         "version": entry.citation.version, "title": entry.citation.title,
                         "url": entry.citation.url},
            "faq": {"key": entry.key, "external_id": entry.external_id}}}]
        for entry in entries}}


def rules_data() -> dict[str, Any]:
    return {"version": _Quoted(RASA_FORMAT), "rules": [
        {"rule": "answer a question from the knowledge base",
         "steps": [{"intent": _Quoted(INTENT)}, {"action": _Quoted(f"utter_{INTENT}")}]}]}


def domain_data() -> dict[str, Any]:
    return {"version": _Quoted(RASA_FORMAT), "intents": [_Quoted(INTENT)]}


def write_files(out_dir: Path, texts: dict[Path, str]) -> tuple[Path, ...]:
    """Each text at its path under ``out_dir``; the paths written."""
    written = []
    try:
        for relative, text in texts.items():
            path = out_dir / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError as exc:
        raise RasaExportError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    return tuple(written)


def to_yaml(content: dict[str, Any], note: str = "") -> str:
    # A wide line: answers stay on one line each instead of being folded.
    return GENERATED + note + yaml.dump(content, Dumper=_Dumper, sort_keys=False,
                                        allow_unicode=True, width=10_000)
