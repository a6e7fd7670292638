"""The BANKING77-derived knowledge base: one published article per category, titled from the
category name, with the category's training texts as its example questions.

    .venv/bin/python -m benchmarks.banking77_kb /tmp/banking77.jsonl
    .venv/bin/comptoir kb import /tmp/banking77.jsonl

The data folder is ``$COMPTOIR_TEST_SHARED_DATA`` (default: ``../shared/data`` beside the
repository). The variable is not a ``COMPTOIR_`` setting: the settings refuse unknown ones.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

SHARED_DATA_ENV = "COMPTOIR_TEST_SHARED_DATA"
# Words a plain capitalisation would get wrong in titles.
PROPER_WORDS = {"atm": "ATM", "pin": "PIN", "visa": "Visa", "mastercard": "Mastercard",
                "apple": "Apple", "google": "Google"}


def shared_data_dir() -> Path:
    """The shared evaluation data folder."""
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    return Path(os.environ.get(SHARED_DATA_ENV) or default)


def train_csv() -> Path:
    return shared_data_dir() / "banking77" / "train.csv"


def external_id(category: str) -> str:
    """The article id of a category: queries are scored against it."""
    return f"banking77-{category}"


def humanise(category: str) -> str:
    """``card_arrival`` → ``Card arrival``; ``atm_support`` → ``ATM support``."""
    words = [PROPER_WORDS.get(word, word) for word in category.strip("?").lower().split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def texts_by_category(path: Path) -> dict[str, list[str]]:
    """The ``text`` column grouped by ``category``, in file order."""
    grouped: dict[str, list[str]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            grouped[row["category"]].append(row["text"])
    return dict(grouped)


def article_record(category: str, questions: list[str]) -> dict[str, Any]:
    return {"id": external_id(category), "title": humanise(category), "body": "",
            "language": "en", "category": "BANKING77", "tags": [], "audience": "public",
            "status": "published", "example_questions": questions}


def write_kb(train: Path, out: Path) -> int:
    """Write the JSONL knowledge base built from ``train`` to ``out``; the article count."""
    grouped = texts_by_category(train)
    with out.open("w", encoding="utf-8") as lines:
        for category, questions in grouped.items():
            lines.write(json.dumps(article_record(category, questions), ensure_ascii=False))
            lines.write("\n")
    return len(grouped)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the JSONL file to write")
    parser.add_argument("--train", type=Path, default=None,
                        help="BANKING77 train.csv (default: from the shared data folder)")
    args = parser.parse_args(argv)
    count = write_kb(args.train or train_csv(), args.out)
    print(f"wrote {count} articles to {args.out}")


if __name__ == "__main__":
    main()
