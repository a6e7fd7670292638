"""``comptoir kb``: import and export articles."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import func, select

from helpdesk.cli_admin import with_database
from helpdesk.events import SYSTEM
from helpdesk.extensions import db, unit_of_work
from knowledge_base import articles, exporter, importer
from knowledge_base.models import Article
from knowledge_base.search import search_service
from knowledge_base.search.store import INDEXED_STATUSES


@click.group("kb", help="Knowledge base: articles in and out, search index.")
def kb_group() -> None:
    """Knowledge-base commands."""


@kb_group.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@with_database
def kb_import(path: Path) -> None:
    """Import articles from PATH: a JSONL file, or a folder of Markdown files with front
    matter. Known ids update their article; exits 1 when some article was rejected."""
    entries = importer.read_path(path)
    with click.progressbar(entries, label=f"Importing {path}") as progress:
        summary = importer.import_entries(progress, unit_of_work, SYSTEM)
    for rejected in summary.rejected:
        click.echo(f"{path}: {rejected.location}: {rejected.reason}", err=True)
    click.echo(str(summary))
    if summary.rejected:
        raise click.exceptions.Exit(1)


@kb_group.command("export")
@click.argument("path", type=click.Path(path_type=Path))
@with_database
def kb_export(path: Path) -> None:
    """Export every article to PATH: a .jsonl file, or else a new folder of Markdown files."""
    rows = articles.all_articles(db.session)
    with click.progressbar(rows, label=f"Exporting to {path}") as progress:
        exporter.export(progress, path)
    click.echo(f"exported {len(rows)} articles to {path}")


@kb_group.command("reindex")
@with_database
def kb_reindex() -> None:
    """Rebuild the search index: re-cut and re-embed every draft and published article."""
    service = search_service()
    total = db.session.scalar(select(func.count()).select_from(Article)
                              .where(Article.status.in_(INDEXED_STATUSES)))
    with click.progressbar(length=total or 0, label="Reindexing") as progress:
        chunks = service.rebuild(progress.update)
    click.echo(f"indexed {total} articles as {chunks} chunks with {service.model}")
