"""``comptoir bot``: the virtual assistant's commands."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import current_app

from helpdesk.cli_admin import with_database
from helpdesk.extensions import db

if TYPE_CHECKING:
    from bot.evaluate import Question


@click.group("bot", help="Virtual assistant: offline evaluation.")
def bot_group() -> None:
    """Virtual-assistant commands."""


@bot_group.command("evaluate")
@click.option("--engine", type=click.Choice(["builtin", "rasa"]), default="builtin",
              show_default=True,
              help="builtin: the live assistant's engine on a throw-away copy of --kb; rasa: "
                   "a running Rasa server (--rasa-url), e.g. trained from `comptoir rasa "
                   "export-faq`.")
@click.option("--kb", "kb_path", type=click.Path(exists=True, path_type=Path),
              help="Knowledge base to answer from (--engine builtin): JSONL (or a Markdown "
                   "folder), as for `comptoir kb import`.")
@click.option("--rasa-url", envvar="COMPTOIR_RASA_URL",
              help="The Rasa server (--engine rasa), e.g. http://127.0.0.1:5005.")
@click.option("--questions", "questions_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='JSONL, one {"text": ..., "expected": article id or null} a line.')
@click.option("--details", "details_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write one JSON line per question: action, article, scores.")
def bot_evaluate(engine: str, kb_path: Path | None, rasa_url: str | None,
                 questions_path: Path, details_path: Path | None) -> None:
    """Replay QUESTIONS through the assistant and print n, in-scope accuracy,
    out-of-scope recall, wrong-answer rate and coverage as one JSON object (with Rasa,
    also the handoff rate and Rasa's time per message, p50 and p95)."""
    # Imported here: every app registers this group, few processes run it.
    from bot.evaluate import EvaluationError, read_questions

    _check_engine_options(engine, kb_path, rasa_url)
    if details_path is not None and not details_path.parent.is_dir():
        # Checked before the replay: it can take many minutes.
        raise click.BadParameter(f"folder {details_path.parent} does not exist",
                                 param_hint="--details")
    started = time.monotonic()
    try:
        questions = read_questions(questions_path)
        figures, details = (_replay_through_rasa(rasa_url or "", questions)
                            if engine == "rasa" else _replay_builtin(kb_path, questions))
    except EvaluationError as exc:
        raise click.ClickException(str(exc)) from None
    if details_path is not None:
        with details_path.open("w", encoding="utf-8") as lines:
            lines.writelines(json.dumps(d, ensure_ascii=False) + "\n" for d in details)
    click.echo(f"replayed {len(details)} questions in {time.monotonic() - started:.0f} s",
               err=True)
    click.echo(json.dumps(figures))


def _check_engine_options(engine: str, kb_path: Path | None, rasa_url: str | None) -> None:
    """--kb goes with the built-in engine, --rasa-url (an http(s) URL) with Rasa."""
    if engine == "builtin" and kb_path is None:
        raise click.BadParameter("required with --engine builtin", param_hint="--kb")
    if engine == "rasa" and kb_path is not None:
        raise click.BadParameter("Rasa answers from the model it was trained on: give "
                                 "--kb only with --engine builtin", param_hint="--kb")
    if engine == "rasa" and not (rasa_url or "").startswith(("http://", "https://")):
        raise click.BadParameter(f"an http(s) URL is required with --engine rasa, got "
                                 f"{rasa_url!r}", param_hint="--rasa-url")


def _replay_builtin(kb_path: Path | None, questions: list[Question],
                    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from bot.evaluate import detail, evaluate, metrics

    assert kb_path is not None  # _check_engine_options
    # The details file records every escalation: one log line each would only be noise.
    logging.getLogger("bot.kb_engine").setLevel(logging.WARNING)
    outcomes = evaluate(kb_path, questions, log=lambda line: click.echo(line, err=True))
    return metrics(outcomes), [detail(outcome) for outcome in outcomes]


def _replay_through_rasa(rasa_url: str, questions: list[Question],
                         ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from bot.rasa_engine import HttpRasaClient
    from bot.rasa_evaluate import TIMEOUT_SECONDS, evaluate_rasa, rasa_detail, rasa_metrics

    outcomes = evaluate_rasa(HttpRasaClient(rasa_url, TIMEOUT_SECONDS), questions)
    return rasa_metrics(outcomes), [rasa_detail(outcome) for outcome in outcomes]


@click.group("rasa", help="Rasa: training data from the knowledge base.")
def rasa_group() -> None:
    """Rasa commands."""


@rasa_group.command("export-faq")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--lang", "language", default=None,
              help="Only the articles in this language (default: every language).")
@with_database
def rasa_export_faq(out_dir: Path, language: str | None) -> None:
    """Write Rasa 3.x retrieval-intent data (faq/<article>) from the published public
    articles into OUT_DIR: data/nlu_faq.yml, data/responses_faq.yml, data/rules_faq.yml
    and domain_faq.yml. Exits 2 when there is nothing to export or OUT_DIR is not
    writable."""
    from bot.rasa_export import RasaExportError, export_faq

    languages = current_app.config["COMPTOIR"].languages
    if language is not None and language not in languages:
        raise click.BadParameter(f"{language!r} is not a language of this site "
                                 f"({', '.join(languages)})", param_hint="--lang")
    try:
        summary = export_faq(db.session, out_dir, language)
    except RasaExportError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise click.exceptions.Exit(2) from None
    click.echo(str(summary))
