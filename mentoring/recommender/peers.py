"""Standard implicit-feedback peers for the evaluation: ALS and BPR (the ``implicit`` package) and an
item-item kNN (cosine similarity on the training matrix, numpy and scipy).

They learn from positive interactions only (weight > 0, weights summed per pair) and know no side
features: a user or an item without training interactions gets a zero row (every score ties), so
they cannot rank new users or new items at all. :func:`tune` picks each one's settings on a
validation split carved from the training data (a small grid, scored by NDCG@10), and
:func:`fit` refits with them on the whole training set.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .data import InteractionData
from .neighbours import cosine_neighbours

PEERS = ("als", "bpr", "item_knn")

# Small grids, widened where MovieLens 100k picked an edge (ALS alpha 10 and 32 factors, BPR's
# regularisation, kNN's k 200); the whole tuning takes a few minutes at most on two cores.
GRIDS: dict[str, dict[str, Sequence]] = {
    "als": {
        "factors": (16, 32, 64),
        "regularization": (0.01, 0.1, 1.0),
        "alpha": (1.0, 10.0, 40.0),
        "iterations": (15, 30),
    },
    "bpr": {
        "factors": (32, 64),
        "learning_rate": (0.01, 0.05),
        "regularization": (0.01, 0.1),
        "iterations": (100, 300),
    },
    "item_knn": {"k": (10, 25, 50, 100, 200, 400)},
}


@dataclass
class Matrix:
    """Positive training interactions as a ``users x items`` CSR matrix (summed weights)."""

    users: dict[str, int]
    items: dict[str, int]
    values: object  # scipy.sparse.csr_matrix, float32

    @classmethod
    def of(cls, data: InteractionData, items: Sequence[str] | None = None) -> Matrix:
        from scipy import sparse

        positive = data.weights > 0
        users = {
            u: n for n, u in enumerate(dict.fromkeys(u for u, p in zip(data.user_ids, positive, strict=True) if p))
        }
        if items is None:
            items = list(dict.fromkeys(i for i, p in zip(data.item_ids, positive, strict=True) if p))
        item_index = {i: n for n, i in enumerate(items)}
        rows, cols, values = [], [], []
        for user, item, weight in zip(data.user_ids, data.item_ids, data.weights, strict=True):
            if weight > 0 and (col := item_index.get(item)) is not None:
                rows.append(users[user])
                cols.append(col)
                values.append(weight)
        matrix = sparse.csr_matrix(
            (np.asarray(values, dtype=np.float32), (rows, cols)), shape=(len(users), len(items)), dtype=np.float32
        )
        matrix.sum_duplicates()
        return cls(users, item_index, matrix)

    def rows(self, users: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Row numbers of ``users`` and a mask of those known (unknown ones get row 0, to be zeroed)."""
        found = np.fromiter((self.users.get(u, -1) for u in users), dtype=np.int64, count=len(users))
        return np.maximum(found, 0), found >= 0


class Peer:
    """A fitted peer: ``scores(rows)`` is a ``len(rows) x items`` array for rows of the training matrix."""

    def __init__(self, name: str, params: Mapping, *, seed: int = 0, threads: int = 1):
        if name not in PEERS:
            raise ValueError(f"unknown peer {name!r}; choose from {', '.join(PEERS)}")
        self.name, self.params, self.seed, self.threads = name, dict(params), seed, threads

    def fit(self, matrix: Matrix) -> Peer:
        self.matrix = matrix
        if self.name == "item_knn":
            self.similarity = cosine_neighbours(matrix.values, int(self.params["k"]))
            return self
        from threadpoolctl import threadpool_limits

        if self.name == "als":
            from implicit.cpu.als import AlternatingLeastSquares as Model
        else:
            from implicit.cpu.bpr import BayesianPersonalizedRanking as Model
        # implicit asks for a single-threaded BLAS (its own threads do the work).
        with threadpool_limits(1, "blas"):
            model = Model(**self.params, num_threads=self.threads, random_state=self.seed)
            model.fit(matrix.values, show_progress=False)
        self.user_factors, self.item_factors = np.asarray(model.user_factors), np.asarray(model.item_factors)
        return self

    def scores(self, rows: np.ndarray) -> np.ndarray:
        if self.name == "item_knn":
            return np.asarray((self.matrix.values[rows] @ self.similarity).todense(), dtype=np.float64)
        return self.user_factors[rows] @ self.item_factors.T


def grid(name: str, space: Mapping[str, Sequence] | None = None) -> list[dict]:
    space = GRIDS[name] if space is None else space
    keys = list(space)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(space[key] for key in keys))]


def validation_ndcg(peer: Peer, validation: InteractionData, *, max_users: int = 1000, seed: int = 0) -> float:
    """NDCG@10 on held-out positives of users the peer trained on (training items excluded)."""
    from .evaluate import ranking_metrics

    matrix = peer.matrix
    users = [u for u in dict.fromkeys(validation.user_ids) if u in matrix.users]
    if not users:
        return 0.0
    if len(users) > max_users:
        users = sorted(np.random.default_rng(seed).choice(users, size=max_users, replace=False).tolist())
    rows, _ = matrix.rows(users)
    user_index = {u: n for n, u in enumerate(users)}
    targets = np.zeros((len(users), len(matrix.items)), dtype=bool)
    for user, item, weight in zip(validation.user_ids, validation.item_ids, validation.weights, strict=True):
        if weight > 0 and (n := user_index.get(user)) is not None and (col := matrix.items.get(item)) is not None:
            targets[n, col] = True
    trained = matrix.values[rows].toarray() > 0
    ndcg = ranking_metrics(peer.scores(rows), trained, targets, auc=False)["ndcg_at_10"]
    return float(np.nanmean(ndcg)) if np.isfinite(ndcg).any() else 0.0


def tune(
    name: str,
    train: InteractionData,
    validation: InteractionData,
    *,
    space: Mapping[str, Sequence] | None = None,
    seed: int = 0,
    threads: int = 1,
) -> dict:
    """The grid point with the best validation NDCG@10: ``{"params", "validation_ndcg_at_10", "tried"}``."""
    matrix = Matrix.of(train)
    best: dict | None = None
    candidates = grid(name, space)
    for params in candidates:
        peer = Peer(name, params, seed=seed, threads=threads).fit(matrix)
        score = validation_ndcg(peer, validation, seed=seed)
        if best is None or score > best["validation_ndcg_at_10"]:
            best = {"params": params, "validation_ndcg_at_10": round(score, 5)}
    return {**best, "tried": len(candidates)}
