"""Item-item neighbours: the collaborative half of the hybrid.

LightFM ranks every item, new ones included, from features and embeddings; it is weaker at the local
"learners who booked these also booked that" signal an item-item neighbourhood catches. The hybrid
adds the two: for a user the model knows, candidates are ordered by the LightFM score standardised
over the candidates plus ``weight`` times the neighbourhood score standardised the same way (each
term's mean 0 and standard deviation 1 over one user's candidates, so the weight means the same for
every user and every model size; :func:`blend` computes an equivalent that keeps LightFM's scale). ``weight`` 0, an unknown user, or candidates no neighbourhood reaches leave
the LightFM order as it was.

The neighbourhood is cosine similarity between items' sets of users (binary), each item keeping its
``k`` nearest neighbours (as ``implicit``'s ``ItemItemRecommender``); a user's score for item ``j`` is
the summed similarity to ``j`` of the items in their history. :func:`choose` picks ``k`` and the weight
on a validation split (0 is among the weights, so the blend is never chosen worse than LightFM alone
on it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .data import InteractionData

K_CHOICES = (50, 200)
WEIGHT_CHOICES = (0.0, 0.25, 0.5, 1.0, 2.0)
ARRAYS = ("history_indptr", "history_indices", "similarity_indptr", "similarity_indices", "similarity_data")


@dataclass
class Neighbours:
    users: dict[str, int]  # user id -> row of ``history``
    items: dict[str, int]  # item id -> column
    history: object  # scipy.sparse.csr_matrix, users x items, 1 where the user interacted positively
    similarity: object  # scipy.sparse.csr_matrix, items x items: row i holds item i's k nearest
    k: int
    weight: float

    @classmethod
    def of(cls, data: InteractionData, *, k: int, weight: float) -> Neighbours:
        """From ``data``'s positive interactions."""
        from scipy import sparse

        positive = data.weights > 0
        pairs = [(u, i) for u, i, p in zip(data.user_ids, data.item_ids, positive, strict=True) if p]
        users = {u: n for n, u in enumerate(dict.fromkeys(u for u, _ in pairs))}
        items = {i: n for n, i in enumerate(dict.fromkeys(i for _, i in pairs))}
        history = sparse.csr_matrix(
            (
                np.ones(len(pairs), dtype=np.float32),
                ([users[u] for u, _ in pairs], [items[i] for _, i in pairs]),
            ),
            shape=(len(users), len(items)),
            dtype=np.float32,
        )
        history.sum_duplicates()
        history.data[:] = 1.0
        return cls(users, items, history, cosine_neighbours(history, k), int(k), float(weight))

    def columns(self, item_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Where the items with interactions are among ``item_ids`` (positions) and their columns."""
        items = self.items
        columns = np.fromiter((items.get(i, -1) for i in item_ids), dtype=np.int64, count=len(item_ids))
        positions = np.flatnonzero(columns >= 0)
        return positions, columns[positions]

    def reach(self, user_ids: Sequence[str | None]) -> np.ndarray | None:
        """The users' neighbourhood scores of every item (``len(user_ids) x items``; an unknown user's
        row is 0), or ``None`` when there is nothing to add (weight 0, no known user)."""
        if not self.weight:
            return None
        found = np.fromiter(
            (self.users.get(u, -1) if u is not None else -1 for u in user_ids), dtype=np.int64, count=len(user_ids)
        )
        if not np.any(found >= 0):
            return None
        reach = (self.history[np.maximum(found, 0)] @ self.similarity).toarray()
        reach[found < 0] = 0.0
        return reach

    def _reach_of(self, row: int) -> np.ndarray:
        """One user's :meth:`reach` from the raw arrays (a scipy product costs ~0.3 ms in overhead)."""
        history, similarity = self.history, self.similarity
        items = history.indices[history.indptr[row] : history.indptr[row + 1]]
        if not len(items):
            return np.zeros(similarity.shape[1], dtype=np.float32)
        spans = [slice(similarity.indptr[i], similarity.indptr[i + 1]) for i in items]
        columns = np.concatenate([similarity.indices[span] for span in spans])
        weights = np.concatenate([similarity.data[span] for span in spans])
        return np.bincount(columns, weights=weights, minlength=similarity.shape[1]).astype(np.float32)

    def scores(self, user_ids: Sequence[str | None], where: tuple[np.ndarray, np.ndarray], count: int):
        """The users' neighbourhood scores of ``count`` candidates, those at ``where`` (see
        :meth:`columns`) in reach and the rest 0; ``None`` when there is nothing to add."""
        reach = self.reach(user_ids)
        if reach is None:
            return None
        positions, columns = where
        scores = np.zeros((len(user_ids), count), dtype=np.float32)
        scores[:, positions] = reach[:, columns]
        return scores if scores.any() else None

    def add_to(self, scores: np.ndarray, user_id: str | None, where: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """One user's ``scores`` of a candidate list blended with their neighbourhood scores, in place:
        :func:`blend` computed from the candidates in reach only (the others' neighbourhood score is
        0), so a list of 100,000 new items costs what the few hundred known ones do."""
        positions, columns = where
        if not len(positions) or not len(scores):
            return scores
        row = self.users.get(user_id) if user_id is not None and self.weight else None
        if row is None:
            return scores
        values = self._reach_of(row)[columns]
        count = len(scores)
        mean = values.sum(dtype=np.float64) / count
        variance = float(np.square(values, dtype=np.float64).sum() / count - mean * mean)
        if variance <= 1e-18:
            return scores
        scores[positions] += np.float32(self.weight * scores.std(dtype=np.float64) / np.sqrt(variance)) * values
        return scores

    # ----------------------------------------------------------------------- storage
    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "history_indptr": self.history.indptr.astype(np.int64),
            "history_indices": self.history.indices.astype(np.int64),
            "similarity_indptr": self.similarity.indptr.astype(np.int64),
            "similarity_indices": self.similarity.indices.astype(np.int64),
            "similarity_data": self.similarity.data.astype(np.float32),
        }

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, np.ndarray], *, users: list[str], items: list[str], k: int, weight: float
    ) -> Neighbours:
        """Rebuilt from :meth:`arrays`; ``ValueError`` when they do not fit together."""
        from scipy import sparse

        n_users, n_items = len(users), len(items)
        for name, rows in (("history", n_users), ("similarity", n_items)):
            indptr, indices = arrays[f"{name}_indptr"], arrays[f"{name}_indices"]
            if (
                indptr.ndim != 1
                or len(indptr) != rows + 1
                or indptr[0] != 0
                or np.any(np.diff(indptr) < 0)
                or indptr[-1] != len(indices)
                or (len(indices) and (indices.min() < 0 or indices.max() >= n_items))
            ):
                raise ValueError(f"the {name} matrix does not fit {rows} rows of {n_items} items")
        data = arrays["similarity_data"]
        if len(data) != len(arrays["similarity_indices"]) or not np.all(np.isfinite(data)):
            raise ValueError("the similarity values do not fit their indices or are not finite")
        history = sparse.csr_matrix(
            (
                np.ones(len(arrays["history_indices"]), dtype=np.float32),
                arrays["history_indices"],
                arrays["history_indptr"],
            ),
            shape=(n_users, n_items),
        )
        similarity = sparse.csr_matrix(
            (data.astype(np.float32), arrays["similarity_indices"], arrays["similarity_indptr"]),
            shape=(n_items, n_items),
        )
        return cls(
            {u: n for n, u in enumerate(users)}, {i: n for n, i in enumerate(items)}, history, similarity, k, weight
        )


def blend(base: np.ndarray, extra: np.ndarray | None, weight: float) -> np.ndarray:
    """The blend of LightFM scores and neighbourhood scores, row by row (rows: users): ``base`` plus
    ``weight * std(base) / std(extra)`` times ``extra``, which orders each row as the sum of the two
    standardised, ``z(base) + weight * z(extra)``, does (the shift and scale common to a row change no
    order), while keeping LightFM's scale. ``base`` alone without ``extra`` or where it does not vary."""
    if extra is None or not weight:
        return base
    spread = extra.std(axis=-1, keepdims=True, dtype=np.float64)
    if not np.any(spread > 0):
        return base
    scale = np.where(spread > 0, weight * base.std(axis=-1, keepdims=True, dtype=np.float64), 0.0) / np.where(
        spread > 0, spread, 1.0
    )
    return (base + scale * extra).astype(base.dtype, copy=False)


def cosine_neighbours(values, k: int, chunk: int = 2048):
    """Item-item cosine similarity keeping each item's ``k`` nearest neighbours (no self-similarity),
    as a sparse ``items x items`` matrix whose row ``i`` holds item ``i``'s neighbours."""
    from scipy import sparse

    binary = values.copy().astype(np.float32)
    binary.data[:] = 1.0
    norms = np.sqrt(np.asarray(binary.sum(axis=0)).ravel())
    normalised = (binary @ sparse.diags(1 / np.maximum(norms, 1e-12))).tocsc()
    n_items = values.shape[1]
    k = min(k, max(n_items - 1, 1))
    rows, cols, weights = [], [], []
    for start in range(0, n_items, chunk):
        stop = min(n_items, start + chunk)
        block = np.asarray((normalised[:, start:stop].T @ normalised).todense())
        block[np.arange(stop - start), np.arange(start, stop)] = 0.0
        best = (
            np.argpartition(-block, k - 1, axis=1)[:, :k]
            if k < n_items
            else np.tile(np.arange(n_items), (stop - start, 1))
        )
        keep = np.take_along_axis(block, best, axis=1)
        rows.append(np.repeat(np.arange(start, stop), best.shape[1]))
        cols.append(best.ravel())
        weights.append(keep.ravel())
    # Row i holds item i's nearest neighbours; a user's score for item j is then the summed similarity
    # of the items they have whose neighbourhoods include j (``X @ S``, as implicit's ItemItemRecommender).
    similarity = sparse.csr_matrix(
        (
            np.concatenate(weights) if weights else np.zeros(0, np.float32),
            (np.concatenate(rows) if rows else [], np.concatenate(cols) if cols else []),
        ),
        shape=(n_items, n_items),
        dtype=np.float32,
    )
    similarity.eliminate_zeros()
    return similarity


def choose(
    probe,
    inner: InteractionData,
    validation: InteractionData,
    *,
    k_choices: Sequence[int] = K_CHOICES,
    weight_choices: Sequence[float] = WEIGHT_CHOICES,
    max_users: int = 1000,
    min_users: int = 100,
    seed: int = 0,
) -> dict:
    """``k`` and the weight with the best validation NDCG@10 for ``probe`` (a model fitted on ``inner``):
    ``{"k", "weight", "validation_ndcg_at_10", "validation_ndcg_at_10_alone", "validation_users"}``.
    Weight 0 (LightFM alone) wins ties; with fewer than ``min_users`` validation users it is chosen
    unmeasured (``"skipped"`` says why)."""
    from .evaluate import ranking_metrics

    positive = [
        (u, i) for u, i, w in zip(validation.user_ids, validation.item_ids, validation.weights, strict=True) if w > 0
    ]
    trained = Neighbours.of(inner, k=max(k_choices), weight=1.0)
    items = list(trained.items)
    users = [u for u in dict.fromkeys(u for u, _ in positive) if u in trained.users]
    if len(users) > max_users:
        users = sorted(np.random.default_rng(seed).choice(users, size=max_users, replace=False).tolist())
    if len(users) < min_users:  # a handful of held-out items say nothing about the weight
        return {
            "k": int(max(k_choices)),
            "weight": 0.0,
            "skipped": f"{len(users)} validation users, fewer than {min_users}: too noisy to choose the weight by",
            "validation_users": len(users),
        }
    user_index = {u: n for n, u in enumerate(users)}
    targets = np.zeros((len(users), len(items)), dtype=bool)
    for user, item in positive:
        if (n := user_index.get(user)) is not None and (col := trained.items.get(item)) is not None:
            targets[n, col] = True
    rows = np.fromiter((trained.users[u] for u in users), dtype=np.int64, count=len(users))
    seen = trained.history[rows].toarray() > 0
    features = inner.item_features
    matrix = probe.item_matrix([(i, features.get(i, [])) for i in items])
    vectors, biases = probe.user_matrix([(u, inner.user_features.get(u, [])) for u in users])
    base = vectors @ matrix.vectors.T + matrix.biases[None, :] + biases[:, None]

    def ndcg(scores: np.ndarray) -> float:
        values = ranking_metrics(scores, seen, targets, auc=False)["ndcg_at_10"]
        return float(np.nanmean(values)) if np.isfinite(values).any() else 0.0

    alone = ndcg(base)
    best = {"k": int(max(k_choices)), "weight": 0.0, "validation_ndcg_at_10": alone}
    for k in k_choices:
        similarity = trained.similarity if k == max(k_choices) else cosine_neighbours(trained.history, k)
        extra = (trained.history[rows] @ similarity).toarray()  # the candidates are all the items
        for weight in weight_choices:
            if not weight:
                continue
            score = ndcg(blend(base, extra, weight))
            if score > best["validation_ndcg_at_10"]:
                best = {"k": int(k), "weight": float(weight), "validation_ndcg_at_10": score}
    return {
        **best,
        "validation_ndcg_at_10": round(best["validation_ndcg_at_10"], 5),
        "validation_ndcg_at_10_alone": round(alone, 5),
        "validation_users": len(users),
    }
