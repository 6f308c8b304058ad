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
features weighs ``1/n``, so a representation is the mean of its feature embeddings). With an
``identity_weight`` ``w`` (see :meth:`Recommender.fit`), an entity whose identity is known gets ``w``
on its identity and ``(1 - w) / k`` on each of its ``k`` side features, so a well-described warm item
is not diluted by its descriptors; without a known identity (a new learner, a new session) the side
features still weigh ``1/k`` each.

Weights: a positive weight is a positive interaction and scales its gradient (``sample_weight``).
WARP and BPR learn from positives only, so interactions with weight <= 0 are left out of their
training; the logistic loss takes them as explicit negatives (label -1, weight ``|w|``, at least 0.1).

With ``neighbours`` set (an item-item neighbourhood, see :mod:`.neighbours`; the training path chooses
its weight on validation data and may leave it off), a known user's scores are the standardised
LightFM scores plus the weighted, standardised neighbourhood scores of the same candidates.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .data import InteractionData
from .neighbours import Neighbours

IDENTITY_PREFIX = "id:"
MIN_VALIDATION_USERS = 100  # fewer, with one held-out item each, say little about the epochs
LOSSES = ("warp", "bpr", "logistic")
CACHE_COUNTS = ("built", "evictions", "evicted_rows", "uncached_calls")  # see ItemCacheInfo
TOP_K_SAMPLE = 1024  # scores sampled to guess the k-th highest (see top_indices)
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
    _columns: dict = field(default_factory=dict, repr=False, compare=False)  # id(neighbours) -> columns

    def __len__(self) -> int:
        return len(self.ids)

    def columns(self, neighbours: Neighbours) -> tuple[np.ndarray, np.ndarray]:
        """Where the items ``neighbours`` knows are, and their columns (computed once per matrix)."""
        key = id(neighbours)
        found = self._columns.get(key)
        if found is None or found[0] is not neighbours:
            found = self._columns[key] = (neighbours, neighbours.columns(self.ids))
        return found[1]


@dataclass(frozen=True)
class ItemCacheInfo:
    """The item store of a :class:`Recommender` (see :meth:`Recommender.item_matrix`)."""

    rows: int  # representations stored now
    capacity: int  # ITEM_CACHE_SIZE
    built: int  # representations computed, cached or not
    evictions: int  # times the store dropped the rows a call did not use
    evicted_rows: int
    uncached_calls: int  # calls with more distinct items than the store holds


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
        self.identity_weight: float | None = None  # None: the identity is one feature among n (1/n)
        self.params: dict = {}
        # The item-item half of the hybrid (see .neighbours); None: LightFM alone.
        self.neighbours: Neighbours | None = None
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
        model.identity_weight = model.params.get("identity_weight")
        model._index()
        return model

    def _index(self) -> None:
        self._user_index = {name: n for n, name in enumerate(self.user_feature_names)}
        self._item_index = {name: n for n, name in enumerate(self.item_feature_names)}
        self._user_identities = _identity_mask(self.user_feature_names)
        self._item_identities = _identity_mask(self.item_feature_names)
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
        identity_weight: float | None = None,
        seed: int = 0,
        threads: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        validation: InteractionData | None = None,
        patience: int = 5,
        ensemble: int = 1,
    ) -> Recommender:
        """Fit LightFM on ``data`` and keep its feature embeddings; returns ``self``.

        ``identity_weight`` (with ``normalize``): the share of a user's or item's identity feature in
        its representation, its side features sharing the rest equally; ``None`` keeps LightFM's plain
        row normalisation (with ``k`` side features the identity weighs ``1/(k+1)``).

        Only users and items with a training interaction get an identity feature, and only the side
        features of those users and items enter the vocabulary: anything else would keep the random
        embedding it was initialised with. ``progress(epoch, epochs)`` is called after each epoch.

        Early stopping: with ``validation`` (held-out positives of users in ``data``, never trained
        on), NDCG@10 on it is measured after every epoch; training stops after ``patience`` epochs
        without a better one (``epochs`` is then a maximum) and the best epoch's embeddings are kept.
        ``params["epochs"]`` is the best epoch and ``params["early_stopping"]`` what happened. With
        fewer than 100 validation users nothing is measured (``early_stopping["skipped"]`` says so)
        and all ``epochs`` are run.

        ``ensemble`` above 1 fits that many models with seeds ``seed``, ``seed + 1``, ... (the first
        one early-stopped as above, the others for its best epoch count) and keeps their embeddings
        side by side: a representation is the concatenation of the members' and a bias their sum, so
        a score is the sum of the members' scores, served by the same single dot product (with
        ``ensemble * components`` components). It averages out the seed's luck at ``ensemble`` times
        the training time.
        """
        if ensemble > 1:
            return self._fit_ensemble(
                data,
                ensemble,
                loss=loss,
                components=components,
                epochs=epochs,
                learning_rate=learning_rate,
                use_features=use_features,
                normalize=normalize,
                item_alpha=item_alpha,
                user_alpha=user_alpha,
                max_sampled=max_sampled,
                identity_weight=identity_weight,
                seed=seed,
                threads=threads,
                progress=progress,
                validation=validation,
                patience=patience,
            )
        if ensemble < 1:
            raise ValueError(f"ensemble must be at least 1, not {ensemble}")
        from lightfm import LightFM
        from lightfm.data import Dataset

        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, not {loss!r}")
        if components < 1 or epochs < 1 or learning_rate <= 0:
            raise ValueError("components and epochs must be at least 1 and learning_rate above 0")
        if patience < 1:
            raise ValueError("patience must be at least 1")
        if min(item_alpha, user_alpha) < 0:
            raise ValueError("item_alpha and user_alpha must be 0 or more")
        if identity_weight is not None:
            identity_weight = float(identity_weight)
            if not 0 < identity_weight < 1:
                raise ValueError(f"identity_weight must be above 0 and below 1, not {identity_weight}")
            if not normalize:
                raise ValueError("identity_weight needs normalize=True")
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
        user_matrix = dataset.build_user_features(
            ((u, _feature_weights(row, identity_weight)) for u, row in user_rows.items()), normalize=normalize
        )
        item_matrix = dataset.build_item_features(
            ((i, _feature_weights(row, identity_weight)) for i, row in item_rows.items()), normalize=normalize
        )

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
        monitor = (
            _Validation(validation, dataset, interactions, user_matrix, item_matrix, seed)
            if validation is not None
            else None
        )
        early_stopping = None
        if monitor is not None and len(monitor.users) < MIN_VALIDATION_USERS:
            early_stopping = {
                "skipped": f"{len(monitor.users)} validation users, fewer than {MIN_VALIDATION_USERS}: too noisy "
                f"to choose epochs by",
                "validation_users": len(monitor.users),
            }
            monitor = None
        best: tuple[float, int, tuple[np.ndarray, ...]] | None = None
        history: list[float] = []
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
            if monitor is None:
                continue
            history.append(monitor.ndcg(model))
            if best is None or history[-1] > best[0]:
                snapshot = (model.user_embeddings, model.user_biases, model.item_embeddings, model.item_biases)
                best = (history[-1], epoch + 1, tuple(a.copy() for a in snapshot))
            elif epoch + 1 - best[1] >= patience:
                break
        if best is not None:
            (model.user_embeddings, model.user_biases, model.item_embeddings, model.item_biases) = best[2]
            early_stopping = {
                "best_epoch": best[1],
                "epochs_run": len(history),
                "max_epochs": epochs,
                "patience": patience,
                "validation_ndcg_at_10": round(best[0], 5),
                "validation_users": len(monitor.users),
            }
            epochs = best[1]

        _, user_feature_map, _, item_feature_map = dataset.mapping()
        self.user_feature_names = _names(user_feature_map)
        self.item_feature_names = _names(item_feature_map)
        self.user_embeddings = np.ascontiguousarray(model.user_embeddings, dtype=np.float32)
        self.user_biases = np.ascontiguousarray(model.user_biases, dtype=np.float32)
        self.item_embeddings = np.ascontiguousarray(model.item_embeddings, dtype=np.float32)
        self.item_biases = np.ascontiguousarray(model.item_biases, dtype=np.float32)
        self.normalize = normalize
        self.identity_weight = identity_weight
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
            "identity_weight": identity_weight,
            "seed": seed,
        }
        if early_stopping is not None:
            self.params["early_stopping"] = early_stopping
        self.lightfm = model
        self._index()
        if not np.all(np.isfinite(self.user_embeddings)) or not np.all(np.isfinite(self.item_embeddings)):
            raise ValueError("training diverged (non-finite embeddings): lower the learning rate")
        return self

    def _fit_ensemble(self, data: InteractionData, members: int, *, seed: int, epochs: int, progress, **options):
        def counted(member: int):
            return (lambda epoch, total: progress(member * total + epoch, members * total)) if progress else None

        first = Recommender().fit(data, seed=seed, epochs=epochs, progress=counted(0), **options)
        options.pop("validation", None)
        rest = [
            Recommender().fit(data, seed=seed + n, epochs=first.params["epochs"], progress=counted(n), **options)
            for n in range(1, members)
        ]
        models = [first, *rest]
        self.user_feature_names = first.user_feature_names
        self.item_feature_names = first.item_feature_names
        self.user_embeddings = np.ascontiguousarray(np.hstack([m.user_embeddings for m in models]))
        self.item_embeddings = np.ascontiguousarray(np.hstack([m.item_embeddings for m in models]))
        self.user_biases = np.sum([m.user_biases for m in models], axis=0, dtype=np.float32)
        self.item_biases = np.sum([m.item_biases for m in models], axis=0, dtype=np.float32)
        self.normalize = first.normalize
        self.identity_weight = first.identity_weight
        self.params = {**first.params, "ensemble": members}
        self.lightfm = first.lightfm  # the first member only
        self._index()
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
        if self.identity_weight is not None and self.normalize and self._user_identities[rows[0]]:
            w = _feature_weights(rows, self.identity_weight)
            weights = np.fromiter(w.values(), dtype=np.float32, count=len(w))
            return weights @ self.user_embeddings[rows], float(weights @ self.user_biases[rows])
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
            self.identity_weight,
            self._user_identities,
        )

    def item_matrix(self, items: Items) -> ItemMatrix:
        """Representations of ``(item id, features)`` candidates.

        Each item's representation is computed once per (id, features) and kept in a store of at most
        ``ITEM_CACHE_SIZE`` rows, so scoring the same candidates again costs a dictionary lookup per
        item and one gather. When this call's new items would not fit, the store evicts every row this
        call does not use and keeps the rest; a call with more distinct items than the store holds is
        computed without caching (for candidate sets that large, build the matrix once and pass it).
        """
        self._check_fitted()
        ids = [item_id for item_id, _ in items]
        keys = [(item_id, tuple(features)) for item_id, features in items]
        with self._lock:
            rows = self._item_cache
            found = np.fromiter((rows.get(key, -1) for key in keys), dtype=np.int64, count=len(keys))
            missing = np.flatnonzero(found < 0)
            if not len(missing):
                return ItemMatrix(ids, self._store_vectors[found], self._store_biases[found])
            fresh = list(dict.fromkeys(keys[n] for n in missing))  # the same new item twice is computed once
            vectors, biases = self._represent(fresh)
            stored = np.unique(found[found >= 0])
            fits = len(stored) + len(fresh) <= self.ITEM_CACHE_SIZE
            if fits and self._store_size + len(fresh) > self.ITEM_CACHE_SIZE:
                found = self._keep_only(keys, found, stored)
            if not fits:  # the store is left as it was
                self._cache_counts["uncached_calls"] += 1
                offsets = {key: offset for offset, key in enumerate(fresh)}
                chosen = [offsets[keys[n]] for n in missing]
                hit = found >= 0
                all_vectors = np.empty((len(keys), vectors.shape[1]), dtype=np.float32)
                all_biases = np.empty(len(keys), dtype=np.float32)
                all_vectors[hit], all_biases[hit] = self._store_vectors[found[hit]], self._store_biases[found[hit]]
                all_vectors[missing], all_biases[missing] = vectors[chosen], biases[chosen]
                return ItemMatrix(ids, all_vectors, all_biases)
            first = self._grow(vectors, biases)
            rows = self._item_cache
            for offset, key in enumerate(fresh):
                rows[key] = first + offset
            found[missing] = [rows[keys[n]] for n in missing]
            return ItemMatrix(ids, self._store_vectors[found], self._store_biases[found])

    def item_cache_info(self) -> ItemCacheInfo:
        """What the item store holds and has done since the model was fitted or loaded."""
        counts = getattr(self, "_cache_counts", None) or dict.fromkeys(CACHE_COUNTS, 0)
        with self._lock:
            return ItemCacheInfo(rows=self._store_size, capacity=self.ITEM_CACHE_SIZE, **counts)

    def _represent(self, keys: list[tuple[str | None, tuple[str, ...]]]) -> tuple[np.ndarray, np.ndarray]:
        self._cache_counts["built"] += len(keys)
        return _combine(
            [self._rows(self._item_index, item_id, features) for item_id, features in keys],
            self.item_embeddings,
            self.item_biases,
            self.normalize,
            self.identity_weight,
            self._item_identities,
        )

    def _keep_only(self, keys: list, found: np.ndarray, used: np.ndarray) -> np.ndarray:
        """Evict every stored row but ``used`` (this call's); returns ``found`` renumbered to the new
        store. The kept rows go to new arrays: a gather in flight keeps reading the old ones."""
        renumber = np.full(max(self._store_size, 1), -1, dtype=np.int64)
        renumber[used] = np.arange(len(used))
        capacity = min(max(1024, 2 * len(used)), self.ITEM_CACHE_SIZE)
        vectors = np.empty((capacity, self.components), dtype=np.float32)
        biases = np.empty(capacity, dtype=np.float32)
        vectors[: len(used)], biases[: len(used)] = self._store_vectors[used], self._store_biases[used]
        self._cache_counts["evictions"] += 1
        self._cache_counts["evicted_rows"] += self._store_size - len(used)
        self._store_vectors, self._store_biases, self._store_size = vectors, biases, len(used)
        hits = np.flatnonzero(found >= 0)
        self._item_cache = {keys[n]: int(renumber[found[n]]) for n in hits}
        return np.where(found >= 0, renumber[np.maximum(found, 0)], -1)

    def _reset_item_cache(self) -> None:
        self._item_cache = {}
        self._store_vectors = np.empty((1024, self.components), dtype=np.float32)
        self._store_biases = np.empty(1024, dtype=np.float32)
        self._store_size = 0
        self._cache_counts = dict.fromkeys(CACHE_COUNTS, 0)

    def _grow(self, vectors: np.ndarray, biases: np.ndarray) -> int:
        """Append rows to the store (a new, larger array when full: gathers in flight keep the old one)."""
        first, needed = self._store_size, self._store_size + len(vectors)
        if needed > len(self._store_vectors):
            capacity = min(max(needed, 2 * len(self._store_vectors)), max(needed, self.ITEM_CACHE_SIZE))
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
        with _one_blas_thread(len(matrix)):
            scores = matrix.vectors @ vector
        scores += matrix.biases
        scores += np.float32(bias)
        if self.neighbours is not None and user_id is not None:
            self.neighbours.add_to(scores, user_id, matrix.columns(self.neighbours))
        return scores

    def top_k(
        self, user_id: str | None, user_features: Sequence[str], items: Items | ItemMatrix, k: int = 10
    ) -> list[tuple[str, float]]:
        """The ``k`` best of ``items`` for one user, best first, as ``(item id, score)``; equal scores
        keep the order of ``items``."""
        matrix = items if isinstance(items, ItemMatrix) else self.item_matrix(items)
        scores = self.score(user_id, user_features, matrix)
        return [(matrix.ids[n], float(scores[n])) for n in top_indices(scores, k)]

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
class _BlasThreads:
    """One BLAS thread for a large matrix-vector product. With its default of a thread per core,
    OpenBLAS splits a product of 100k rows, and on a busy machine the call waits for whichever half
    was descheduled: the p99 latency is mostly that wait. A no-op without ``threadpoolctl``.

    The limit is the process's, so it is counted: the first large product sets it, the last one to
    finish restores what was there (two at once must not restore each other's limit)."""

    MIN_ROWS = 20_000

    def __init__(self):
        self.controller = None
        self.lock = threading.Lock()
        self.active = 0
        self.limiter = None

    @contextlib.contextmanager
    def __call__(self, rows: int):
        if rows < self.MIN_ROWS or not self._enter():
            yield
            return
        try:
            yield
        finally:
            self._exit()

    def _enter(self) -> bool:
        with self.lock:
            if self.controller is None:
                try:
                    from threadpoolctl import ThreadpoolController
                except ImportError:
                    self.controller = False
                else:
                    self.controller = ThreadpoolController()
            if not self.controller:
                return False
            if self.active == 0:
                self.limiter = self.controller.limit(limits=1, user_api="blas")
            self.active += 1
            return True

    def _exit(self) -> None:
        with self.lock:
            self.active -= 1
            if self.active == 0 and self.limiter is not None:
                self.limiter.restore_original_limits()
                self.limiter = None


_one_blas_thread = _BlasThreads()


def top_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` highest ``scores``, highest first, equal scores in position order.

    Only the scores at or above the k-th highest are sorted. That threshold is first guessed from a
    strided sample (a few dozen comparisons per thousand scores instead of a partition of all of them)
    and checked: when fewer than ``k`` or too many scores pass the guess, it is computed exactly."""
    n = len(scores)
    k = min(k, n)
    if k <= 0:
        return np.arange(0)
    if k == n:
        return np.argsort(-scores, kind="stable")
    selected = None
    if n >= 4 * TOP_K_SAMPLE:
        step = n // TOP_K_SAMPLE
        sample = scores[::step]
        rank = min(len(sample) - 1, k // step + 3)  # about (rank + 1) * step scores lie above it
        guess = np.partition(sample, len(sample) - 1 - rank)[len(sample) - 1 - rank]
        selected = np.flatnonzero(scores >= guess)
        if not k <= len(selected) <= max(64 * k, n // 16):
            selected = None
    if selected is None:
        kth = np.partition(scores, n - k)[n - k]
        selected = np.flatnonzero(scores >= kth)
    order = np.argsort(-scores[selected], kind="stable")[:k]
    return selected[order]


def measurable_validation_users(inner: InteractionData, validation: InteractionData) -> int:
    """Validation users early stopping can measure: known to ``inner`` with a held-out positive item
    that ``inner`` trained on (a new item cannot be ranked, a user with only such items says nothing)."""
    users, items = set(inner.user_ids), set(inner.item_ids)
    return len(
        {
            user
            for user, item, weight in zip(validation.user_ids, validation.item_ids, validation.weights, strict=True)
            if weight > 0 and user in users and item in items
        }
    )


class _Validation:
    """NDCG@10 of a LightFM model in training on held-out positives (at most 3,000 users, seeded).

    Each user ranks every training item except the ones they trained on; held-out items the
    training data never saw are left out (nothing could rank them), as in :mod:`.evaluate`."""

    MAX_USERS = 3000

    def __init__(self, validation: InteractionData, dataset, interactions, user_matrix, item_matrix, seed: int):
        from scipy import sparse

        user_map, _, item_map, _ = dataset.mapping()
        held: dict[int, set[int]] = {}  # only what can be measured: known users, held-out items trained on
        for user, item, weight in zip(validation.user_ids, validation.item_ids, validation.weights, strict=True):
            if weight > 0 and (row := user_map.get(user)) is not None and (col := item_map.get(item)) is not None:
                held.setdefault(row, set()).add(col)
        rows = sorted(held)
        if len(rows) > self.MAX_USERS:
            rows = sorted(np.random.default_rng(seed).choice(rows, size=self.MAX_USERS, replace=False).tolist())
        self.users = rows
        target_rows, target_cols = [], []
        for n, row in enumerate(rows):
            for col in held[row]:
                target_rows.append(n)
                target_cols.append(col)
        shape = (len(rows), len(item_map))
        self.targets = sparse.csr_matrix(
            (np.ones(len(target_rows), dtype=bool), (target_rows, target_cols)), shape=shape
        ).toarray()
        self.trained = interactions.tocsr()[rows].toarray() != 0
        self.user_features = user_matrix.tocsr()[rows]
        self.item_features = item_matrix.tocsr()
        self.prepare()

    K = 10

    def prepare(self) -> None:
        """What :meth:`ndcg` needs of ``targets`` and ``trained``: the held-out items a user did not
        train on, and each user's ideal DCG over all their held-out items (as the evaluation has it)."""
        self.target_rows, self.target_cols = np.nonzero(self.targets & ~self.trained)
        discount = 1 / np.log2(np.arange(2, self.K + 2))
        self.ideal = np.concatenate([[0.0], np.cumsum(discount)])[np.minimum(self.targets.sum(axis=1), self.K)]

    def ndcg(self, model) -> float:
        """Mean NDCG@10. A held-out item's place in the user's ranking is the number of items (trained
        ones left out) scored above it, so no sort is needed: a quarter of the time of
        :func:`.evaluate.ranking_metrics` after every epoch, with the same value (ties aside)."""
        users = self.user_features @ model.user_embeddings
        items = self.item_features @ model.item_embeddings
        scores = users @ items.T + (self.item_features @ model.item_biases)[None, :]
        scores = np.where(self.trained, -np.inf, scores)
        held = scores[self.target_rows, self.target_cols]
        above = (scores[self.target_rows] >= held[:, None]).sum(axis=1) - 1  # a tie counts as above (never > 1)
        gains = np.where(above < self.K, 1 / np.log2(above + 2.0), 0.0)
        dcg = np.bincount(self.target_rows, weights=gains, minlength=len(scores))
        with np.errstate(divide="ignore", invalid="ignore"):
            ndcg = np.where(self.ideal > 0, dcg / self.ideal, np.nan)
        return float(np.nanmean(ndcg)) if np.isfinite(ndcg).any() else 0.0


def _side(features: Sequence[str], use_features: bool) -> list[str]:
    if not use_features:
        return []
    return [f for f in dict.fromkeys(features) if not f.startswith(IDENTITY_PREFIX)]


def _feature_weights(row: Sequence, identity_weight: float | None) -> dict:
    """Weights of an entity's features (its identity first when it has one) before LightFM's row
    normalisation: equal, or the identity ``identity_weight`` and the side features the rest."""
    if identity_weight is None or len(row) < 2:
        return dict.fromkeys(row, 1.0)
    side = (1.0 - identity_weight) / (len(row) - 1)
    return {feature: (identity_weight if n == 0 else side) for n, feature in enumerate(row)}


def _identity_mask(names: list[str]) -> np.ndarray:
    return np.fromiter((name.startswith(IDENTITY_PREFIX) for name in names), dtype=bool, count=len(names))


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
    rows: list[list[int]],
    embeddings: np.ndarray,
    biases: np.ndarray,
    normalize: bool,
    identity_weight: float | None = None,
    identities: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted sums of embedding rows, one per entity, through one sparse product.

    With ``identity_weight`` (and ``identities``, which embedding rows are identity features), an
    entity whose first row is its identity and that has side features weighs them as in training."""
    from scipy import sparse

    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.fromiter((n for r in rows for n in r), dtype=np.int64, count=int(indptr[-1]))
    if normalize:
        values = np.repeat(1.0 / np.maximum(lengths, 1), lengths).astype(np.float32)
        if identity_weight is not None and identities is not None and len(indices):
            starts = indptr[:-1][lengths >= 2]
            weighted = starts[identities[indices[starts]]]  # entities with an identity and side features
            counts = lengths[lengths >= 2][identities[indices[starts]]]
            side = np.repeat((1.0 - identity_weight) / (counts - 1), counts)
            positions = np.repeat(weighted, counts) + (
                np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
            )
            values[positions] = side
            values[weighted] = identity_weight
    else:
        values = np.ones(len(indices), dtype=np.float32)
    weights = sparse.csr_matrix((values, indices, indptr), shape=(len(rows), embeddings.shape[0]))
    return np.asarray(weights @ embeddings, dtype=np.float32), np.asarray(weights @ biases, dtype=np.float32).reshape(
        -1
    )
