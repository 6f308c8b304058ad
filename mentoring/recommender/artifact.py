"""Versioned model artifacts on disk.

A version is named by its UTC save time (``20261126T101500123456Z``) and is two files in one directory
(the ``RECOMMENDER_DIR`` setting on the Django side):

- ``model-<version>.npz``: the feature embeddings and biases (float32 arrays) and the feature names
  (JSON text stored as bytes), written with numpy and read with ``allow_pickle=False``: loading a
  file never runs code from it;
- ``model-<version>.json``: metadata, written last, so a version without it is incomplete and not
  seen: ``format_version``, ``version``, ``trained_at``, ``counts`` (users, items, interactions,
  features), ``params`` (the settings the model was fitted with: loss, components, epochs, learning
  rate, ``item_alpha``, ``user_alpha``, and ``early_stopping`` when the epochs were chosen so),
  ``metrics``, the shapes, the SHA-256 of the ``.npz``, ``neighbours`` (``k`` and weight of the
  item-item half when the model has one; its matrices and ids are then in the ``.npz`` too), and what the trainer adds (``train_seconds``,
  ``tuning``: the chosen values, the early stopping and the search trials, see :mod:`.training`).

:func:`latest_version` names the newest complete version, :func:`load` reads one, :func:`load_latest`
both. Anything missing, truncated, corrupt or inconsistent raises :class:`ArtifactError` whose message
says what and where.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from . import neighbours
from .model import Recommender

FORMAT_VERSION = 1
_VERSION = re.compile(r"^model-(\d{8}T\d{12}Z(?:-\d+)?)\.json$")
_ARRAYS = ("user_embeddings", "user_biases", "item_embeddings", "item_biases")


class ArtifactError(Exception):
    """No usable model artifact; the message says why."""


def versions(directory: str | Path) -> list[str]:
    """Complete versions in ``directory`` (those with metadata), oldest first."""
    directory = Path(directory)
    try:
        names = [entry.name for entry in directory.iterdir()]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ArtifactError(f"cannot list the model directory {directory}: {exc.strerror}") from exc
    return sorted(m.group(1) for name in names if (m := _VERSION.match(name)))


def latest_version(directory: str | Path) -> str:
    found = versions(directory)
    if not found:
        raise ArtifactError(f"no trained model in {directory} (run manage.py train_recommender)")
    return found[-1]


def paths(directory: str | Path, version: str) -> tuple[Path, Path]:
    """The ``.npz`` and ``.json`` files of a version."""
    directory = Path(directory)
    return directory / f"model-{version}.npz", directory / f"model-{version}.json"


def save(
    model: Recommender,
    directory: str | Path,
    *,
    counts: dict | None = None,
    metrics: dict | None = None,
    extra: dict | None = None,
    now: datetime | None = None,
) -> str:
    """Write ``model`` as a new version in ``directory`` (created if needed); the version name."""
    if not model.fitted:
        raise ArtifactError("cannot save a model that is not fitted")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    now = now or datetime.now(UTC)
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    version, n = stamp, 1
    while any(p.exists() for p in paths(directory, version)):
        version, n = f"{stamp}-{n}", n + 1
    npz_path, json_path = paths(directory, version)
    arrays = {
        "user_embeddings": model.user_embeddings,
        "user_biases": model.user_biases,
        "item_embeddings": model.item_embeddings,
        "item_biases": model.item_biases,
        "user_feature_names": _text(model.user_feature_names),
        "item_feature_names": _text(model.item_feature_names),
    }
    near = model.neighbours
    if near is not None:
        arrays.update(near.arrays())
        arrays["neighbour_users"] = _text(list(near.users))
        arrays["neighbour_items"] = _text(list(near.items))
    _write_atomically(npz_path, lambda f: np.savez(f, **arrays))
    metadata = {
        "format_version": FORMAT_VERSION,
        "version": version,
        "trained_at": now.astimezone(UTC).isoformat(),
        "counts": counts or {},
        "params": model.params,
        "normalize": model.normalize,
        "metrics": metrics or {},
        "components": model.components,
        "shapes": {name: list(arrays[name].shape) for name in _ARRAYS},
        "user_features": len(model.user_feature_names),
        "item_features": len(model.item_feature_names),
        "npz_sha256": _sha256(npz_path),
        "neighbours": {"k": near.k, "weight": near.weight} if near is not None else None,
        **(extra or {}),
    }
    _write_atomically(json_path, lambda f: f.write(json.dumps(metadata, indent=2, sort_keys=True).encode()))
    return version


def read_metadata(directory: str | Path, version: str) -> dict:
    _, json_path = paths(directory, version)
    try:
        metadata = json.loads(json_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"model version {version} not found in {directory}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ArtifactError(f"{json_path.name}: metadata is not readable JSON ({exc})") from None
    if not isinstance(metadata, dict):
        raise ArtifactError(f"{json_path.name}: metadata is not a JSON object")
    found = metadata.get("format_version")
    if found != FORMAT_VERSION:
        raise ArtifactError(
            f"{json_path.name}: format version {found!r}, this code reads version {FORMAT_VERSION} (retrain the model)"
        )
    return metadata


def load(directory: str | Path, version: str) -> Recommender:
    """The model saved as ``version`` in ``directory``, checked from end to end."""
    metadata = read_metadata(directory, version)
    npz_path, _ = paths(directory, version)
    try:
        digest = _sha256(npz_path)
    except FileNotFoundError:
        raise ArtifactError(f"{npz_path.name} is missing (the metadata names it)") from None
    except OSError as exc:
        raise ArtifactError(f"{npz_path.name}: cannot be read ({exc.strerror})") from None
    if digest != metadata.get("npz_sha256"):
        raise ArtifactError(f"{npz_path.name} is corrupt or truncated: its checksum does not match the metadata")
    try:
        with np.load(npz_path, allow_pickle=False) as stored:
            wanted = (*_ARRAYS, "user_feature_names", "item_feature_names")
            if metadata.get("neighbours"):
                wanted += (*neighbours.ARRAYS, "neighbour_users", "neighbour_items")
            missing = [name for name in wanted if name not in stored.files]
            if missing:
                raise ArtifactError(f"{npz_path.name}: array {missing[0]} is missing")
            arrays = {name: stored[name] for name in wanted}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ArtifactError(f"{npz_path.name} cannot be read: {exc}") from None
    user_names = _names(arrays["user_feature_names"], npz_path, "user")
    item_names = _names(arrays["item_feature_names"], npz_path, "item")
    _check_shapes(arrays, user_names, item_names, metadata, npz_path.name)
    model = Recommender.from_arrays(
        user_feature_names=user_names,
        item_feature_names=item_names,
        user_embeddings=arrays["user_embeddings"],
        user_biases=arrays["user_biases"],
        item_embeddings=arrays["item_embeddings"],
        item_biases=arrays["item_biases"],
        normalize=bool(metadata.get("normalize", True)),
        params=metadata.get("params") or {},
    )
    if metadata.get("neighbours"):
        model.neighbours = _neighbours(arrays, metadata["neighbours"], npz_path)
    return model


def load_latest(directory: str | Path) -> Recommender:
    return load(directory, latest_version(directory))


def prune(directory: str | Path, *, keep: int = 5) -> list[str]:
    """Delete all but the newest ``keep`` versions; the versions deleted."""
    old = versions(directory)[:-keep] if keep > 0 else versions(directory)
    for version in old:
        for path in reversed(paths(directory, version)):  # metadata first: the version disappears at once
            path.unlink(missing_ok=True)
    return old


# --------------------------------------------------------------------------- helpers
def _check_shapes(arrays: dict, user_names: list[str], item_names: list[str], metadata: dict, name: str) -> None:
    ue, ub, ie, ib = (arrays[a] for a in _ARRAYS)
    components = metadata.get("components")
    problems = []
    if ue.ndim != 2 or ie.ndim != 2 or ub.ndim != 1 or ib.ndim != 1:
        problems.append("embeddings must be 2-D and biases 1-D")
    else:
        if ue.shape != (len(user_names), components):
            problems.append(f"user embeddings are {ue.shape}, expected ({len(user_names)}, {components})")
        if ie.shape != (len(item_names), components):
            problems.append(f"item embeddings are {ie.shape}, expected ({len(item_names)}, {components})")
        if ub.shape != (len(user_names),) or ib.shape != (len(item_names),):
            problems.append(
                f"biases are {ub.shape} and {ib.shape}, expected ({len(user_names)},) and ({len(item_names)},)"
            )
    for key in _ARRAYS:
        if arrays[key].dtype.kind != "f":
            problems.append(f"{key} is not floating point")
        elif not np.all(np.isfinite(arrays[key])):
            problems.append(f"{key} holds non-finite values")
    if problems:
        raise ArtifactError(f"{name} does not match its metadata: {'; '.join(problems)}")


def _neighbours(arrays: dict, settings, path: Path) -> neighbours.Neighbours:
    k, weight = (settings.get(key) if isinstance(settings, dict) else None for key in ("k", "weight"))
    if (
        not isinstance(k, int)
        or k < 1
        or isinstance(weight, bool)
        or not isinstance(weight, int | float)
        or not 0 < weight < float("inf")
    ):
        raise ArtifactError(f"{path.name}: the neighbourhood settings {settings!r} are not a k and a positive weight")
    users = _names(arrays["neighbour_users"], path, "neighbourhood user")
    items = _names(arrays["neighbour_items"], path, "neighbourhood item")
    try:
        return neighbours.Neighbours.from_arrays(arrays, users=users, items=items, k=k, weight=float(weight))
    except ValueError as exc:
        raise ArtifactError(f"{path.name}: {exc}") from None


def _text(names: list[str]) -> np.ndarray:
    return np.frombuffer(json.dumps(names).encode("utf-8"), dtype=np.uint8)


def _names(stored: np.ndarray, path: Path, kind: str) -> list[str]:
    try:
        names = json.loads(stored.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ArtifactError(f"{path.name}: the {kind} feature names are not valid JSON ({exc})") from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise ArtifactError(f"{path.name}: the {kind} feature names are not a list of distinct strings")
    return names


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_atomically(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
