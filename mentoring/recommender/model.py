"""A hybrid LightFM recommender whose serving is numpy only.

LightFM represents a user (an item) as the sum of the embeddings of its features; here every user and
item also has an *identity feature* (``id:<id>``) next to its side features (``skill:python``,
``mentor:12``, ...). After fitting, :class:`Recommender` keeps only the feature embeddings and biases,
so it can build a representation for anyone from a list of feature names: a known user from their
identity plus current features, a new learner from their interests alone (cold start), an upcoming
session nobody has booked from its skills, mentor and level. Feature names the model never saw are
ignored; with none known, a user's vector is zero and items rank by their biases (a learned
popularity).

Feature weights are normalised as in training (``normalize=True``: each of an entity's ``n`` known
features weighs ``1/n``, so a representation is the mean of its feature embeddings).

Weights: a positive weight is a positive interaction and scales its gradient (``sample_weight``).
WARP and BPR learn from positives only, so interactions with weight <= 0 are left out of their
training; the logistic loss takes them as explicit negatives (label -1, weight ``|w|``, at least 0.1).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .data import InteractionData

IDENTITY_PREFIX = "id:"
LOSSES = ("warp", "bpr", "logistic")
Items = Sequence[tuple[str, Sequence[str]]]


def identity_feature(entity_id: str) -> str:
    return IDENTITY_PREFIX + entity_id


@dataclass(frozen=True)
class ItemMatrix:
    """Candidate items with their representations, ready for :meth:`Recommender.score` and ``top_k``.

    Build it once with :meth:`Recommender.item_matrix` when the same candidates are scored for many users.
    """

    ids: list[str]
    vectors: np.ndarray  # n x components, float32
    biases: np.ndarray  # n, float32

    def __len__(self) -> int:
        return len(self.ids)


class Recommender:
    """A fitted hybrid model: ``Recommender().fit(data)`` or :func:`.artifact.load`."""

    ITEM_CACHE_SIZE = 200_000

    def __init__(self):
        self.user_feature_names: list[str] = []
        self.item_feature_names: list[str] = []
        self.user_embeddings: np.ndarray | None = None
        self.user_biases: np.ndarray | None = None
        self.item_embeddings: np.ndarray | None = None
        self.item_biases: np.ndarray | None = None
        self.normalize = True
        self.params: dict = {}
        self.lightfm = None  # the LightFM object right after fit; None once loaded from an artifact
        self._item_cache: dict[tuple[str | None, tuple[str, ...]], int] = {}  # -> row of the store
        self._store_vectors = self._store_biases = None
        self._store_size = 0
        self._lock = threading.Lock()

    # ----------------------------------------------------------------------- construction
    @classmethod
    def from_arrays(
        cls,
        *,
        user_feature_names: list[str],
        item_feature_names: list[str],
        user_embeddings: np.ndarray,
        user_biases: np.ndarray,
        item_embeddings: np.ndarray,
        item_biases: np.ndarray,
        normalize: bool = True,
        params: dict | None = None,
    ) -> Recommender:
        model = cls()
        model.user_feature_names = list(user_feature_names)
        model.item_feature_names = list(item_feature_names)
        model.user_embeddings = np.ascontiguousarray(user_embeddings, dtype=np.float32)
        model.user_biases = np.ascontiguousarray(user_biases, dtype=np.float32)
        model.item_embeddings = np.ascontiguousarray(item_embeddings, dtype=np.float32)
        model.item_biases = np.ascontiguousarray(item_biases, dtype=np.float32)
        model.normalize = bool(normalize)
        model.params = dict(params or {})
        model._index()
        return model

    def _index(self) -> None:
        self._user_index = {name: n for n, name in enumerate(self.user_feature_names)}
        self._item_index = {name: n for n, name in enumerate(self.item_feature_names)}
        self._reset_item_cache()

    @property
    def fitted(self) -> bool:
        return self.user_embeddings is not None

    @property
    def components(self) -> int:
        self._check_fitted()
        return int(self.user_embeddings.shape[1])

    def knows_user(self, user_id: str) -> bool:
        return identity_feature(user_id) in self._user_index

    def knows_item(self, item_id: str) -> bool:
        return identity_feature(item_id) in self._item_index

    def _check_fitted(self) -> None:
        if self.user_embeddings is None:
            raise RuntimeError("the recommender is not fitted: call fit() or load an artifact")

    # ----------------------------------------------------------------------- training
    def fit(
        self,
        data: InteractionData,
        *,
        loss: str = "warp",
        components: int = 32,
        epochs: int = 20,
        learning_rate: float = 0.1,
        use_features: bool = True,
        normalize: bool = True,
        item_alpha: float = 0.0,
        user_alpha: float = 0.0,
        max_sampled: int = 10,
        seed: int = 0,
        threads: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Recommender:
        """Fit LightFM on ``data`` and keep its feature embeddings; returns ``self``.

        Only users and items with a training interaction get an identity feature, and only the side
        features of those users and items enter the vocabulary: anything else would keep the random
        embedding it was initialised with. ``progress(epoch, epochs)`` is called after each epoch.
        """
        from lightfm import LightFM
        from lightfm.data import Dataset

        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, not {loss!r}")
        if components < 1 or epochs < 1 or learning_rate <= 0:
            raise ValueError("components and epochs must be at least 1 and learning_rate above 0")
        users, items, weights = _aggregate(data)
        if loss == "logistic":
            labels = np.where(weights > 0, 1, -1).astype(np.int32)
            weights = np.maximum(np.abs(weights), 0.1)
        else:
            keep = weights > 0
            users, items, weights = users[keep], items[keep], weights[keep]
            labels = np.ones(len(weights), dtype=np.int32)
        if len(weights) == 0:
            raise ValueError("there are no interactions to learn from")
        user_ids = list(dict.fromkeys(users.tolist()))
        item_ids = list(dict.fromkeys(items.tolist()))
        user_rows = {u: [identity_feature(u), *_side(data.user_features.get(u, ()), use_features)] for u in user_ids}
        item_rows = {i: [identity_feature(i), *_side(data.item_features.get(i, ()), use_features)] for i in item_ids}

        dataset = Dataset(user_identity_features=False, item_identity_features=False)
        dataset.fit(
            user_ids,
            item_ids,
            user_features=dict.fromkeys(f for row in user_rows.values() for f in row),
            item_features=dict.fromkeys(f for row in item_rows.values() for f in row),
        )
        interactions, sample_weight = dataset.build_interactions(
            zip(users.tolist(), items.tolist(), weights.tolist(), strict=True)
        )
        interactions.data = labels
        user_matrix = dataset.build_user_features(user_rows.items(), normalize=normalize)
        item_matrix = dataset.build_item_features(item_rows.items(), normalize=normalize)

        model = LightFM(
            no_components=components,
            loss=loss,
            learning_rate=learning_rate,
            item_alpha=item_alpha,
            user_alpha=user_alpha,
            max_sampled=max_sampled,
            random_state=np.random.RandomState(seed),
        )
        threads = threads or min(2, os.cpu_count() or 1)
        for epoch in range(epochs):
            model.fit_partial(
                interactions,
                user_features=user_matrix,
                item_features=item_matrix,
                sample_weight=sample_weight,
                epochs=1,
                num_threads=threads,
            )
            if progress is not None:
                progress(epoch + 1, epochs)

        _, user_feature_map, _, item_feature_map = dataset.mapping()
        self.user_feature_names = _names(user_feature_map)
        self.item_feature_names = _names(item_feature_map)
        self.user_embeddings = np.ascontiguousarray(model.user_embeddings, dtype=np.float32)
        self.user_biases = np.ascontiguousarray(model.user_biases, dtype=np.float32)
        self.item_embeddings = np.ascontiguousarray(model.item_embeddings, dtype=np.float32)
        self.item_biases = np.ascontiguousarray(model.item_biases, dtype=np.float32)
        self.normalize = normalize
        self.params = {
            "loss": loss,
            "components": components,
            "epochs": epochs,
            "learning_rate": learning_rate,
            "use_features": use_features,
            "normalize": normalize,
            "item_alpha": item_alpha,
            "user_alpha": user_alpha,
            "max_sampled": max_sampled,
            "seed": seed,
        }
        self.lightfm = model
        self._index()
        if not np.all(np.isfinite(self.user_embeddings)) or not np.all(np.isfinite(self.item_embeddings)):
            raise ValueError("training diverged (non-finite embeddings): lower the learning rate")
        return self

    # ----------------------------------------------------------------------- representations
    def _weights(self, count: int) -> float:
        return 1.0 / count if self.normalize and count else 1.0

    def user_vector(self, user_id: str | None, user_features: Sequence[str]) -> tuple[np.ndarray, float]:
        """The representation of a user and their bias: identity (when known) plus known features."""
        self._check_fitted()
        rows = self._rows(self._user_index, user_id, user_features)
        if not rows:
            return np.zeros(self.components, dtype=np.float32), 0.0
        w = self._weights(len(rows))
        return self.user_embeddings[rows].sum(axis=0) * w, float(self.user_biases[rows].sum() * w)

    def user_matrix(self, users: Items) -> tuple[np.ndarray, np.ndarray]:
        """Representations and biases of many ``(user id or None, features)`` at once."""
        self._check_fitted()
        return _combine(
            [self._rows(self._user_index, uid, feats) for uid, feats in users],
            self.user_embeddings,
            self.user_biases,
            self.normalize,
        )

    def item_matrix(self, items: Items) -> ItemMatrix:
        """Representations of ``(item id, features)`` candidates.

        Each item's representation is computed once per (id, features) and kept in a store of rows, so
        scoring the same candidates again costs a dictionary lookup per item and one gather.
        """
        self._check_fitted()
        keys = [(item_id, tuple(features)) for item_id, features in items]
        with self._lock:
            if self._store_size + len(keys) > self.ITEM_CACHE_SIZE:
                self._reset_item_cache()
            rows = self._item_cache
            found = np.fromiter((rows.get(key, -1) for key in keys), dtype=np.int64, count=len(keys))
            missing = np.flatnonzero(found < 0)
            if len(missing):
                fresh = {}  # the same new item twice in one list is computed once
                for n in missing:
                    fresh.setdefault(keys[n], len(fresh))
                vectors, biases = _combine(
                    [self._rows(self._item_index, key[0], key[1]) for key in fresh],
                    self.item_embeddings,
                    self.item_biases,
                    self.normalize,
                )
                first = self._grow(vectors, biases)
                for key, offset in fresh.items():
                    rows[key] = first + offset
                found[missing] = [rows[keys[n]] for n in missing]
            store_vectors, store_biases = self._store_vectors, self._store_biases
        return ItemMatrix([item_id for item_id, _ in items], store_vectors[found], store_biases[found])

    def _reset_item_cache(self) -> None:
        self._item_cache = {}
        self._store_vectors = np.empty((1024, self.components), dtype=np.float32)
        self._store_biases = np.empty(1024, dtype=np.float32)
        self._store_size = 0

    def _grow(self, vectors: np.ndarray, biases: np.ndarray) -> int:
        """Append rows to the store (a new, larger array when full: gathers in flight keep the old one)."""
        first, needed = self._store_size, self._store_size + len(vectors)
        if needed > len(self._store_vectors):
            capacity = max(needed, 2 * len(self._store_vectors))
            grown_v = np.empty((capacity, self.components), dtype=np.float32)
            grown_b = np.empty(capacity, dtype=np.float32)
            grown_v[:first], grown_b[:first] = self._store_vectors[:first], self._store_biases[:first]
            self._store_vectors, self._store_biases = grown_v, grown_b
        self._store_vectors[first:needed], self._store_biases[first:needed] = vectors, biases
        self._store_size = needed
        return first

    @staticmethod
    def _rows(index: dict[str, int], entity_id: str | None, features: Sequence[str]) -> list[int]:
        rows = []
        if entity_id is not None and (row := index.get(identity_feature(entity_id))) is not None:
            rows.append(row)
        for name in features:
            row = index.get(name)
            if row is not None and not name.startswith(IDENTITY_PREFIX) and row not in rows:
                rows.append(row)
        return rows

    # ----------------------------------------------------------------------- serving
    def score(self, user_id: str | None, user_features: Sequence[str], items: Items | ItemMatrix) -> np.ndarray:
        """Scores of ``items`` (``(item id, features)`` pairs or an :class:`ItemMatrix`) for one user,
        in the order given; higher is better. Only the order of one user's scores means anything."""
        matrix = items if isinstance(items, ItemMatrix) else self.item_matrix(items)
        vector, bias = self.user_vector(user_id, user_features)
        return matrix.vectors @ vector + matrix.biases + np.float32(bias)

    def top_k(
        self, user_id: str | None, user_features: Sequence[str], items: Items | ItemMatrix, k: int = 10
    ) -> list[tuple[str, float]]:
        """The ``k`` best of ``items`` for one user, best first, as ``(item id, score)``."""
        matrix = items if isinstance(items, ItemMatrix) else self.item_matrix(items)
        scores = self.score(user_id, user_features, matrix)
        k = min(k, len(scores))
        if k <= 0:
            return []
        best = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(matrix.ids[n], float(scores[n])) for n in best]

    def explain(
        self,
        user_id: str | None,
        user_features: Sequence[str],
        item_features: Sequence[str],
        *,
        item_id: str | None = None,
        limit: int | None = None,
    ) -> list[tuple[str, float]]:
        """The item's side features by what they add to this user's score, largest first.

        Each contribution is the dot product of the user's representation with the feature's
        embedding, times the feature's weight in the item. Feature names the model does not know are
        left out, and so is the item's identity feature (not something to show a person).
        """
        vector, _ = self.user_vector(user_id, user_features)
        known = list(
            dict.fromkeys(f for f in item_features if f in self._item_index and not f.startswith(IDENTITY_PREFIX))
        )
        if not known:
            return []
        rows = [self._item_index[f] for f in known]
        # The item's identity (when known) counts in the normalisation but is not explained.
        w = self._weights(len(rows) + int(item_id is not None and self.knows_item(item_id)))
        contributions = (self.item_embeddings[rows] @ vector) * w
        order = np.argsort(-contributions, kind="stable")
        ranked = [(known[n], float(contributions[n])) for n in order]
        return ranked[:limit] if limit is not None else ranked


# --------------------------------------------------------------------------- helpers
def _side(features: Sequence[str], use_features: bool) -> list[str]:
    if not use_features:
        return []
    return [f for f in dict.fromkeys(features) if not f.startswith(IDENTITY_PREFIX)]


def _names(mapping: dict[str, int]) -> list[str]:
    names = [""] * len(mapping)
    for name, n in mapping.items():
        names[n] = name
    return names


def _aggregate(data: InteractionData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One row per (user, item): weights summed."""
    if not len(data):
        return np.array([], dtype=object), np.array([], dtype=object), np.array([], dtype=np.float32)
    users = np.asarray(data.user_ids, dtype=object)
    items = np.asarray(data.item_ids, dtype=object)
    _, user_codes = np.unique(users.astype(str), return_inverse=True)
    _, item_codes = np.unique(items.astype(str), return_inverse=True)
    pairs = user_codes.astype(np.int64) * (int(item_codes.max()) + 1) + item_codes
    unique, first, inverse = np.unique(pairs, return_index=True, return_inverse=True)
    weights = np.bincount(inverse, weights=data.weights, minlength=len(unique)).astype(np.float32)
    order = np.argsort(first, kind="stable")  # keep the order of first appearance
    return users[first[order]], items[first[order]], weights[order]


def _combine(
    rows: list[list[int]], embeddings: np.ndarray, biases: np.ndarray, normalize: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted sums of embedding rows, one per entity, through one sparse product."""
    from scipy import sparse

    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.fromiter((n for r in rows for n in r), dtype=np.int64, count=int(indptr[-1]))
    if normalize:
        values = np.repeat(1.0 / np.maximum(lengths, 1), lengths).astype(np.float32)
    else:
        values = np.ones(len(indices), dtype=np.float32)
    weights = sparse.csr_matrix((values, indices, indptr), shape=(len(rows), embeddings.shape[0]))
    return np.asarray(weights @ embeddings, dtype=np.float32), np.asarray(weights @ biases, dtype=np.float32).reshape(
        -1
    )
