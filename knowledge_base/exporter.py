"""Export articles in the formats the importer reads: JSONL, or Markdown files with YAML
front matter. Importing an export gives the same articles back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from helpdesk.errors import Conflict
from knowledge_base.models import Article

_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def export(articles: Iterable[Article], path: Path) -> None:
    """To a ``.jsonl`` file, or else into a new (or empty) folder of Markdown files."""
    if path.suffix == ".jsonl" or path.is_file():
        export_jsonl(articles, path)
    else:
        export_markdown(articles, path)


def export_jsonl(articles: Iterable[Article], path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for article in articles:
            out.write(json.dumps(article_record(article), ensure_ascii=False) + "\n")


def export_markdown(articles: Iterable[Article], folder: Path) -> None:
    """One ``<id>.md`` per article; refuses a folder with files in it (they would mix)."""
    if folder.is_dir() and any(folder.iterdir()):
        raise Conflict(f"{folder} is not empty: export into a new folder", field="path")
    folder.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    for article in articles:
        name = _file_name(article, taken)
        (folder / name).write_text(markdown_file(article), encoding="utf-8")


def article_record(article: Article) -> dict[str, Any]:
    """The article in the import format (``id`` is its external id, left out when none)."""
    record = {"id": article.external_id, "title": article.title, "body": article.body,
              "language": article.language, "category": article.category,
              "tags": article.tags, "audience": article.audience.value,
              "status": article.status.value, "example_questions": article.example_questions}
    return {name: value for name, value in record.items() if value is not None}


def markdown_file(article: Article) -> str:
    """The article as Markdown with its other fields in a YAML front matter."""
    record = article_record(article)
    body = record.pop("body")
    front = yaml.safe_dump(record, allow_unicode=True, sort_keys=False)
    return f"---\n{front}---\n\n{body}\n"


def _file_name(article: Article, taken: set[str]) -> str:
    """A safe, unused file name from the external id (the article id without one)."""
    stem = _UNSAFE_IN_FILE_NAME.sub("-", article.external_id or "").strip("-.")
    stem = stem or f"article-{article.id}"
    if stem.casefold() in taken:  # two ids that differ by case or unsafe characters only
        stem = f"{stem}-{article.id}"
    taken.add(stem.casefold())
    return f"{stem}.md"
