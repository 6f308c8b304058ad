from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest

from mentoring.recommender import artifact
from mentoring.recommender.artifact import ArtifactError


@pytest.fixture
def saved(tmp_path, fitted):
    version = artifact.save(fitted, tmp_path, counts={"users": 300}, metrics={"precision_at_10": 0.1})
    return tmp_path, version


def test_round_trip_gives_identical_scores_and_explanations(saved, fitted, small_data):
    directory, version = saved
    loaded = artifact.load_latest(directory)
    assert loaded.lightfm is None  # serving needs the arrays only
    items = [(i, small_data.item_features[i]) for i in sorted(small_data.item_features)] + [("new", ["skill:python"])]
    for user_id, features in [("u0", small_data.user_features["u0"]), (None, ["skill:python", "level:beginner"])]:
        np.testing.assert_array_equal(loaded.score(user_id, features, items), fitted.score(user_id, features, items))
        assert loaded.top_k(user_id, features, items, 10) == fitted.top_k(user_id, features, items, 10)
        assert loaded.explain(user_id, features, items[0][1]) == fitted.explain(user_id, features, items[0][1])
    metadata = artifact.read_metadata(directory, version)
    assert metadata["format_version"] == artifact.FORMAT_VERSION
    assert metadata["counts"] == {"users": 300} and metadata["metrics"] == {"precision_at_10": 0.1}
    assert metadata["params"]["components"] == 16 and metadata["trained_at"].endswith("+00:00")
    assert sorted(p.name for p in directory.iterdir()) == [f"model-{version}.json", f"model-{version}.npz"]


def test_the_latest_version_wins_and_old_ones_are_pruned(tmp_path, fitted):
    first = artifact.save(fitted, tmp_path, now=datetime(2026, 1, 1, tzinfo=UTC))
    second = artifact.save(fitted, tmp_path, now=datetime(2026, 2, 1, tzinfo=UTC))
    same_instant = artifact.save(fitted, tmp_path, now=datetime(2026, 2, 1, tzinfo=UTC))
    assert first < second < same_instant
    assert artifact.versions(tmp_path) == [first, second, same_instant]
    assert artifact.latest_version(tmp_path) == same_instant
    assert artifact.prune(tmp_path, keep=1) == [first, second]
    assert artifact.versions(tmp_path) == [same_instant] and len(list(tmp_path.iterdir())) == 2


def test_an_incomplete_version_without_metadata_is_not_seen(tmp_path, fitted):
    version = artifact.save(fitted, tmp_path)
    artifact.paths(tmp_path, version)[1].unlink()
    with pytest.raises(ArtifactError, match="no trained model"):
        artifact.load_latest(tmp_path)


def test_no_directory_or_no_model(tmp_path):
    with pytest.raises(ArtifactError, match="no trained model in .*missing"):
        artifact.load_latest(tmp_path / "missing")
    with pytest.raises(ArtifactError, match="no trained model"):
        artifact.load_latest(tmp_path)


def test_a_corrupt_model_file_is_refused(saved):
    directory, version = saved
    npz, _ = artifact.paths(directory, version)
    raw = bytearray(npz.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    npz.write_bytes(bytes(raw))
    with pytest.raises(ArtifactError, match="corrupt or truncated"):
        artifact.load_latest(directory)


def test_a_truncated_model_file_is_refused(saved):
    directory, version = saved
    npz, _ = artifact.paths(directory, version)
    npz.write_bytes(npz.read_bytes()[:1000])
    with pytest.raises(ArtifactError, match="corrupt or truncated"):
        artifact.load_latest(directory)


def test_a_missing_model_file_is_refused(saved):
    directory, version = saved
    artifact.paths(directory, version)[0].unlink()
    with pytest.raises(ArtifactError, match="is missing"):
        artifact.load_latest(directory)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda m: "{not json", "not readable JSON"),
        (lambda m: json.dumps([1, 2]), "not a JSON object"),
        (lambda m: json.dumps({**m, "format_version": 99}), "format version 99"),
        (lambda m: json.dumps({k: v for k, v in m.items() if k != "format_version"}), "format version None"),
    ],
)
def test_bad_metadata_is_refused(saved, damage, message):
    directory, version = saved
    _, meta = artifact.paths(directory, version)
    meta.write_text(damage(json.loads(meta.read_text())))
    with pytest.raises(ArtifactError, match=message):
        artifact.load_latest(directory)


def _rewrite(directory, version, **changes):
    """Replace arrays in a saved version and fix its checksum, so only the shapes are wrong."""
    npz, meta = artifact.paths(directory, version)
    with np.load(npz) as stored:
        arrays = {name: stored[name] for name in stored.files}
    arrays.update(changes)
    with npz.open("wb") as f:
        np.savez(f, **arrays)
    metadata = json.loads(meta.read_text())
    metadata["npz_sha256"] = artifact._sha256(npz)
    meta.write_text(json.dumps(metadata))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: {"user_embeddings": a["user_embeddings"][:, :-1]}, "user embeddings are"),
        (lambda a: {"item_embeddings": a["item_embeddings"][:-1]}, "item embeddings are"),
        (lambda a: {"item_biases": a["item_biases"][:-1]}, "biases are"),
        (lambda a: {"user_biases": a["user_biases"].reshape(-1, 1)}, "2-D"),
        (lambda a: {"item_biases": np.full_like(a["item_biases"], np.nan)}, "non-finite"),
        (lambda a: {"user_embeddings": a["user_embeddings"].astype(np.int32)}, "not floating point"),
        (lambda a: {"item_feature_names": np.frombuffer(b"[1, 2", dtype=np.uint8)}, "not valid JSON"),
    ],
)
def test_arrays_that_do_not_match_are_refused(saved, change, message):
    directory, version = saved
    npz, _ = artifact.paths(directory, version)
    with np.load(npz) as stored:
        arrays = {name: stored[name] for name in stored.files}
    _rewrite(directory, version, **change(arrays))
    with pytest.raises(ArtifactError, match=message):
        artifact.load_latest(directory)


def test_a_missing_array_is_refused(saved):
    directory, version = saved
    npz, meta = artifact.paths(directory, version)
    with np.load(npz) as stored:
        arrays = {name: stored[name] for name in stored.files if name != "item_biases"}
    with npz.open("wb") as f:
        np.savez(f, **arrays)
    metadata = json.loads(meta.read_text())
    metadata["npz_sha256"] = artifact._sha256(npz)
    meta.write_text(json.dumps(metadata))
    with pytest.raises(ArtifactError, match="item_biases is missing"):
        artifact.load_latest(directory)


def test_an_unfitted_model_cannot_be_saved(tmp_path):
    from mentoring.recommender.model import Recommender

    with pytest.raises(ArtifactError, match="not fitted"):
        artifact.save(Recommender(), tmp_path)
