"""Train the Rasa model once per version of the training data, and print its path.

Run with .venv-rasa's Python (``make rasa`` does, and so do the tests): the model is
``models/<hash>.tar.gz`` where the hash covers config.yml, domain.yml, data/ and
requirements.txt (a new Rasa is a new model), so an unchanged project is not trained again.
``--path`` prints where the model is or would be, without training.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent
TRAINING_FILES = ("config.yml", "domain.yml", "data", "requirements.txt")
MODELS_KEPT = 3  # the current model and a couple of earlier ones, e.g. for switching branches
OUTPUT_SHOWN = 20_000  # characters of a failed training's output


def training_hash() -> str:
    """A digest of every training file's name and content."""
    digest = hashlib.sha256()
    for path in _training_paths():
        digest.update(path.relative_to(PROJECT).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def model_path() -> Path:
    """Where the model trained from the project's current data lives."""
    return PROJECT / "models" / f"{training_hash()}.tar.gz"


def train() -> Path:
    """The current model, trained first when it is not in the cache."""
    model = model_path()
    if not model.exists():
        _run_rasa_train(model)
        _prune(model)
    return model


def _training_paths() -> list[Path]:
    paths = []
    for name in TRAINING_FILES:
        path = PROJECT / name
        if not path.exists():
            raise SystemExit(f"{path} is missing: it is part of the Rasa project")
        paths.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir()
                     else [path])
    return paths


def _run_rasa_train(model: Path) -> None:
    rasa = Path(sys.executable).with_name("rasa")  # the rasa of the venv running this script
    if not rasa.exists():
        raise SystemExit(f"{rasa} not found: run this script with .venv-rasa/bin/python "
                         "(`make rasa` builds it)")
    command = [str(rasa), "train", "--fixed-model-name", model.name[:-len(".tar.gz")],
               "--out", str(model.parent)]
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}
    print(f"training the Rasa model {model.name} (about a minute)", file=sys.stderr)
    done = subprocess.run(command, cwd=PROJECT, env=env, stdout=subprocess.PIPE,  # noqa: S603
                          stderr=subprocess.STDOUT, text=True, check=False)
    if done.returncode != 0 or not model.exists():
        sys.stderr.write(done.stdout[-OUTPUT_SHOWN:])  # its progress bars would flood a CI log
        raise SystemExit(f"rasa train failed (exit {done.returncode}); its output is above")


def _prune(model: Path) -> None:
    older = sorted((p for p in model.parent.glob("*.tar.gz") if p != model),
                   key=lambda p: p.stat().st_mtime, reverse=True)
    for path in older[MODELS_KEPT - 1:]:
        path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", action="store_true",
                        help="print the current model's path without training")
    print(model_path() if parser.parse_args().path else train())


if __name__ == "__main__":
    main()
