"""The dense index saved in the instance folder, so a process starts without re-reading
every vector: it loads the snapshot, then replays the changes logged after it."""

from __future__ import annotations

import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from knowledge_base.search.vector_index import FaissIndex

FILE_NAME = "dense-index.npz"


@dataclass(frozen=True)
class Snapshot:
    version: int
    model: str
    ids: npt.NDArray[np.int64]
    index: FaissIndex


def save(folder: Path, snapshot: Snapshot) -> None:
    """Write atomically: a reader sees the old file or the new one, never half of one."""
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(handle, "wb") as out:
        np.savez(out, version=snapshot.version, model=snapshot.model, ids=snapshot.ids,
                 index=snapshot.index.serialize())
    os.replace(temporary, folder / FILE_NAME)


def load(folder: Path) -> Snapshot | None:
    """The saved snapshot, or None when there is none or it cannot be read."""
    path = folder / FILE_NAME
    if not path.is_file():
        return None
    try:
        with path.open("rb") as handle, np.load(handle) as data:
            return Snapshot(int(data["version"]), str(data["model"]), data["ids"],
                            FaissIndex.deserialize(data["index"]))
    except (OSError, EOFError, ValueError, KeyError, RuntimeError, zipfile.BadZipFile):
        return None  # a damaged snapshot only costs a full load from the database
