"""``comptoir bot``: the virtual assistant's commands."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import click


@click.group("bot", help="Virtual assistant: offline evaluation.")
def bot_group() -> None:
    """Virtual-assistant commands."""


@bot_group.command("evaluate")
@click.option("--kb", "kb_path", required=True,
              type=click.Path(exists=True, path_type=Path),
              help="Knowledge base to answer from: JSONL (or a Markdown folder), as for "
                   "`comptoir kb import`.")
@click.option("--questions", "questions_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='JSONL, one {"text": ..., "expected": article id or null} a line.')
@click.option("--details", "details_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write one JSON line per question: action, article, scores.")
def bot_evaluate(kb_path: Path, questions_path: Path, details_path: Path | None) -> None:
    """Replay QUESTIONS against a throw-away copy of KB with the live assistant's engine
    and defaults; print n, in-scope accuracy, out-of-scope recall, wrong-answer rate and
    coverage as one JSON object."""
    # Imported here: every app registers this group, few processes run it.
    from bot.evaluate import EvaluationError, detail, evaluate, metrics, read_questions

    if details_path is not None and not details_path.parent.is_dir():
        # Checked before the replay: it can take many minutes.
        raise click.BadParameter(f"folder {details_path.parent} does not exist",
                                 param_hint="--details")
    started = time.monotonic()
    # The details file records every escalation: one log line each would only be noise.
    logging.getLogger("bot.kb_engine").setLevel(logging.WARNING)
    try:
        questions = read_questions(questions_path)
        outcomes = evaluate(kb_path, questions, log=lambda line: click.echo(line, err=True))
    except EvaluationError as exc:
        raise click.ClickException(str(exc)) from None
    if details_path is not None:
        with details_path.open("w", encoding="utf-8") as lines:
            for outcome in outcomes:
                lines.write(json.dumps(detail(outcome), ensure_ascii=False) + "\n")
    click.echo(f"replayed {len(outcomes)} questions in {time.monotonic() - started:.0f} s",
               err=True)
    click.echo(json.dumps(metrics(outcomes)))
