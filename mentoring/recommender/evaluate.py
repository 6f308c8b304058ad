"""Offline evaluation: a split, the models and baselines on it, and ranking metrics.

Splits (:func:`split`), after merging repeated (user, item) pairs (weights summed, earliest time kept):

- ``time`` when the data has timestamps: the latest ``test_fraction`` of interactions (by time) is the
  test set, everything before is training; what happens after the cut is never trained on.
- ``random`` otherwise: for each user with two or more positive interactions, a seeded random
  ``test_fraction`` of them (at least one) is held out.
- ``cold-users``: a seeded ``test_fraction`` of the users is held out whole; the models only know
  their side features.
- ``cold-items``: a seeded ``test_fraction`` of the items is held out whole and the test users rank
  those new items only (the question is "which of the new sessions suits this learner").

Only positive interactions (weight > 0) are test targets. Each test user ranks the candidate items
minus the ones they interacted with in training (standard practice: those are not recommended
again). Metrics are averaged over test users (at most ``max_users`` of them, seeded sample):
precision@5, precision@10, recall@10 and AUC (ties count one half).

Models: ``lightfm_hybrid`` (identity plus side features), ``lightfm_pure`` (identity features only:
collaborative filtering), ``popularity`` (training interactions per item), ``random``, and ``oracle``
(synthetic data only: the planted probability the interactions were drawn from).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .data import InteractionData
from .model import Recommender

MODELS = ("lightfm_hybrid", "lightfm_pure", "popularity", "random", "oracle")
COLD = ("users", "items")


@dataclass
class Split:
    kind: str  # "time", "random", "cold-users" or "cold-items"
    train: InteractionData
    test: InteractionData  # positive interactions only
    candidates: list[str]  # the items each test user ranks


def merge_pairs(data: InteractionData) -> InteractionData:
    """One interaction per (user, item): weights summed, the earliest timestamp kept."""
    if not len(data):
        return data
    pairs = list(zip(data.user_ids, data.item_ids, strict=True))
    first: dict[tuple[str, str], int] = {}
    codes = np.fromiter((first.setdefault(p, len(first)) for p in pairs), dtype=np.int64, count=len(pairs))
    if len(first) == len(pairs):
        return data
    weights = np.bincount(codes, weights=data.weights, minlength=len(first))
    timestamps = None
    if data.timestamps is not None:
        timestamps = np.full(len(first), np.inf)
        np.minimum.at(timestamps, codes, data.timestamps)
    return InteractionData(
        user_ids=[u for u, _ in first],
        item_ids=[i for _, i in first],
        weights=weights,
        timestamps=timestamps,
        user_features=data.user_features,
        item_features=data.item_features,
        affinity=data.affinity,
    )


def split(data: InteractionData, *, cold: str | None = None, test_fraction: float = 0.2, seed: int = 0) -> Split:
    """Train and test sets as described in the module docstring."""
    if cold not in (None, *COLD):
        raise ValueError(f"cold must be one of {', '.join(COLD)} or None, not {cold!r}")
    if not 0 < test_fraction < 1:
        raise ValueError("test_fraction must be between 0 and 1")
    data = merge_pairs(data)
    rng = np.random.default_rng(seed)
    positive = data.weights > 0
    users = np.asarray(data.user_ids, dtype=object)
    items = np.asarray(data.item_ids, dtype=object)
    all_items = data.items()

    if cold == "users":
        pool = sorted(set(users[positive].tolist()))
        held = set(rng.choice(pool, size=_share(len(pool), test_fraction), replace=False).tolist()) if pool else set()
        in_test = np.fromiter((u in held for u in data.user_ids), dtype=bool, count=len(data))
        return Split("cold-users", data.select(~in_test), data.select(in_test & positive), all_items)
    if cold == "items":
        pool = sorted(set(items[positive].tolist()))
        held = set(rng.choice(pool, size=_share(len(pool), test_fraction), replace=False).tolist()) if pool else set()
        in_test = np.fromiter((i in held for i in data.item_ids), dtype=bool, count=len(data))
        candidates = [i for i in all_items if i in held]
        return Split("cold-items", data.select(~in_test), data.select(in_test & positive), candidates)

    if data.timestamps is not None and positive.any():
        cutoff = np.quantile(data.timestamps[positive], 1 - test_fraction)
        in_test = (data.timestamps >= cutoff) & positive
        in_train = data.timestamps < cutoff
        if in_test.any() and (in_train & positive).any():
            return Split("time", data.select(in_train), data.select(in_test), all_items)

    # Random per-user holdout: rank each user's positives in a random order, hold out the first few.
    _, codes = np.unique(users.astype(str), return_inverse=True)
    per_user = np.bincount(codes[positive], minlength=codes.max() + 1 if len(codes) else 0)
    wanted = np.where(per_user >= 2, np.maximum(1, np.rint(per_user * test_fraction)), 0).astype(np.int64)
    wanted = np.minimum(wanted, per_user - 1)
    index = np.flatnonzero(positive)
    order = index[np.lexsort((rng.random(len(index)), codes[index]))]
    group_start = np.concatenate([[0], np.cumsum(np.bincount(codes[order], minlength=len(per_user)))[:-1]])
    rank = np.arange(len(order)) - group_start[codes[order]]
    in_test = np.zeros(len(data), dtype=bool)
    in_test[order[rank < wanted[codes[order]]]] = True
    return Split("random", data.select(~in_test), data.select(in_test), all_items)


def _share(count: int, fraction: float) -> int:
    return min(count, max(1, round(count * fraction)))


# --------------------------------------------------------------------------- metrics
def ranking_metrics(scores: np.ndarray, train: np.ndarray, test: np.ndarray) -> dict[str, np.ndarray]:
    """Per-user metrics of a ``users x candidates`` score matrix; ``train`` and ``test`` are boolean
    masks of the same shape (training items are excluded from the ranking)."""
    scores = np.where(train, -np.inf, scores.astype(np.float64))
    n_candidates = scores.shape[1]
    k = min(10, n_candidates)
    top = (
        np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < n_candidates else np.tile(np.arange(k), (len(scores), 1))
    )
    rows = np.arange(len(scores))[:, None]
    top = np.take_along_axis(top, np.argsort(-scores[rows, top], axis=1, kind="stable"), axis=1)
    hits = test[rows, top] & ~train[rows, top]
    positives = test.sum(axis=1)
    excluded = train.sum(axis=1)
    negatives = n_candidates - excluded - positives
    from scipy.stats import rankdata

    ranks = rankdata(scores, axis=1)  # average ranks for ties; training items sit at the bottom
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = ((ranks * test).sum(axis=1) - positives * (positives + 1) / 2 - positives * excluded) / (
            positives * negatives
        )
    return {
        "precision_at_5": hits[:, :5].sum(axis=1) / 5,
        "precision_at_10": hits.sum(axis=1) / 10,
        "recall_at_10": hits.sum(axis=1) / np.maximum(positives, 1),
        "auc": np.where(negatives > 0, auc, np.nan),
    }


# --------------------------------------------------------------------------- the run
def evaluate(
    data: InteractionData,
    *,
    cold: str | None = None,
    seed: int = 0,
    test_fraction: float = 0.2,
    loss: str = "warp",
    components: int = 32,
    epochs: int = 20,
    learning_rate: float = 0.1,
    threads: int | None = None,
    max_users: int = 2000,
    models: Sequence[str] = MODELS,
    progress: Callable[[str, int, int], None] | None = None,
    **fit_options,
) -> dict:
    """Fit and score ``models`` on one split of ``data``; a JSON-ready report.

    ``oracle`` is skipped when the data has no planted affinity. ``train_seconds`` is the hybrid
    model's training time. Other keyword arguments go to :meth:`Recommender.fit` (``normalize``,
    ``item_alpha``, ``max_sampled``, ...).
    """
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown model {unknown[0]!r}; choose from {', '.join(MODELS)}")
    parts = split(data, cold=cold, test_fraction=test_fraction, seed=seed)
    rng = np.random.default_rng(seed + 1)
    test_users = parts.test.users()
    if len(test_users) > max_users:
        test_users = sorted(rng.choice(test_users, size=max_users, replace=False).tolist())
    # A random candidate order makes index-based tie-breaking (argpartition, stable sorts) random too.
    candidates = [parts.candidates[n] for n in rng.permutation(len(parts.candidates))]
    report = {
        "split": parts.kind,
        "models": {},
        "train_seconds": None,
        "counts": {"train": parts.train.counts(), "test": parts.test.counts()},
        "evaluated_users": len(test_users),
        "candidates": len(candidates),
        "params": {
            "loss": loss,
            "components": components,
            "epochs": epochs,
            "learning_rate": learning_rate,
            "seed": seed,
            "test_fraction": test_fraction,
        },
    }
    if not test_users or not candidates:
        raise ValueError("the split left no test interactions: the data is too small to evaluate")
    train_mask = _mask(parts.train, test_users, candidates)
    test_mask = _mask(parts.test, test_users, candidates)

    scorers: dict[str, Callable[[slice], np.ndarray]] = {}
    fit = {
        "loss": loss,
        "components": components,
        "epochs": epochs,
        "learning_rate": learning_rate,
        "seed": seed,
        "threads": threads,
        **fit_options,
    }
    for name, use_features in (("lightfm_hybrid", True), ("lightfm_pure", False)):
        if name not in models:
            continue
        started = time.perf_counter()
        step = (lambda epoch, total, name=name: progress(name, epoch, total)) if progress else None
        model = Recommender().fit(parts.train, use_features=use_features, progress=step, **fit)
        seconds = time.perf_counter() - started
        report["train_seconds" if use_features else "train_seconds_pure"] = round(seconds, 3)
        scorers[name] = _lightfm_scorer(model, data, test_users, candidates)
    if "popularity" in models:
        counts: dict[str, int] = {}
        for item, weight in zip(parts.train.item_ids, parts.train.weights, strict=True):
            if weight > 0:
                counts[item] = counts.get(item, 0) + 1
        popularity = np.array([counts.get(i, 0) for i in candidates], dtype=np.float64)
        scorers["popularity"] = lambda rows: np.broadcast_to(popularity, (rows.stop - rows.start, len(candidates)))
    if "random" in models:
        noise = rng.random((len(test_users), len(candidates)))
        scorers["random"] = lambda rows: noise[rows]
    if "oracle" in models and data.affinity is not None:
        affinity = data.affinity
        scorers["oracle"] = lambda rows: affinity.scores(test_users[rows], candidates)

    for name in (m for m in MODELS if m in scorers):
        sums: dict[str, list[np.ndarray]] = {}
        for start in range(0, len(test_users), 500):
            rows = slice(start, min(len(test_users), start + 500))
            metrics = ranking_metrics(scorers[name](rows), train_mask[rows].toarray(), test_mask[rows].toarray())
            for key, values in metrics.items():
                sums.setdefault(key, []).append(values)
        report["models"][name] = {key: round(float(np.nanmean(np.concatenate(v))), 4) for key, v in sums.items()}
    return report


def _mask(part: InteractionData, users: list[str], items: list[str]):
    from scipy import sparse

    user_index = {u: n for n, u in enumerate(users)}
    item_index = {i: n for n, i in enumerate(items)}
    rows, cols = [], []
    for user, item in zip(part.user_ids, part.item_ids, strict=True):
        if (u := user_index.get(user)) is not None and (i := item_index.get(item)) is not None:
            rows.append(u)
            cols.append(i)
    values = np.ones(len(rows), dtype=bool)
    return sparse.csr_matrix((values, (rows, cols)), shape=(len(users), len(items)), dtype=bool)


def _lightfm_scorer(model: Recommender, data: InteractionData, users: list[str], items: list[str]):
    matrix = model.item_matrix([(i, data.item_features.get(i, [])) for i in items])
    vectors, biases = model.user_matrix([(u, data.user_features.get(u, [])) for u in users])

    def scores(rows: slice) -> np.ndarray:
        return vectors[rows] @ matrix.vectors.T + matrix.biases[None, :] + biases[rows, None]

    return scores
