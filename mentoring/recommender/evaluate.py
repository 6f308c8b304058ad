"""Offline evaluation: a split, the models, peers and baselines on it, ranking metrics, and a paired
bootstrap interval for the hybrid against the best of the others.

Splits (:func:`split`), after merging repeated (user, item) pairs (weights summed, earliest time kept):

- ``per-user`` (``protocol="per-user"``, the standard leave-latest-out protocol): each user with at
  least ``2 * holdout`` positive interactions has their latest ``holdout`` positives held out (by
  timestamp, ties and data without timestamps in a seeded random order); every test user keeps at
  least as many positives in training as they have in test. Users with fewer stay in training whole.
- ``time`` (``protocol="time"``, the default) when the data has timestamps: the latest
  ``test_fraction`` of interactions (by time) is the test set, everything before is training; what
  happens after the cut is never trained on. On real data many test users then have no training
  rows, so it mostly measures cold-user ranking.
- ``random`` (``time`` without timestamps): for each user with two or more positive interactions, a
  seeded random ``test_fraction`` of them (at least one) is held out.
- ``cold-users``: a seeded ``test_fraction`` of the users is held out whole; the models only know
  their side features.
- ``cold-items``: a seeded ``test_fraction`` of the items is held out whole and the test users rank
  those new items only (the question is "which of the new sessions suits this learner").

Only positive interactions (weight > 0) are test targets. Each test user ranks the candidate items
minus the ones they interacted with in training (standard practice: those are not recommended
again). Metrics are averaged over test users (at most ``max_users`` of them, seeded sample):
precision@5, precision@10, recall@10, NDCG@10, MAP@10 (average precision at 10, divided by
``min(positives, 10)``), AUC (ties count one half), and catalogue coverage (the share of candidate
items that appear in at least one test user's top 10). ``comparison`` bootstraps the hybrid against
the best other model, ``comparison_peer`` against the best of the tuned peers.

Models: ``lightfm_hybrid`` (the model the site serves: LightFM with identity plus side features,
blended with an item-item neighbourhood whose ``k`` and weight are chosen on validation, see
:mod:`.neighbours`), ``hybrid_without_neighbours`` (the same LightFM model alone, when the blend was
chosen), ``lightfm_pure`` (identity features only: collaborative filtering, no neighbourhood), the peers ``als``, ``bpr`` (the ``implicit`` package) and ``item_knn``
(:mod:`.peers`), ``popularity`` (training interactions per item), ``random``, and ``oracle``
(synthetic data only: the planted probability the interactions were drawn from).

Tuning never sees the test set: a validation split is carved from the training data (the per-user
protocol with the same ``holdout``); LightFM's epochs are chosen on it by early stopping (and its
settings by ``search`` seconds of random search), each peer's settings by a small grid
(:data:`.peers.GRIDS`); then every model is fitted on the whole training data with its chosen
settings. The peers know no side features, so on the cold splits they are left out (``omitted``
says why).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from . import peers, tuning
from .data import InteractionData
from .model import Recommender
from .neighbours import blend

MODELS = (
    "lightfm_hybrid",
    "hybrid_without_neighbours",
    "lightfm_pure",
    "als",
    "bpr",
    "item_knn",
    "popularity",
    "random",
    "oracle",
)
PROTOCOLS = ("time", "per-user")
COLD = ("users", "items")
MAX_HOLDOUT = 100
K = 10


@dataclass
class Split:
    kind: str  # "per-user", "time", "random", "cold-users" or "cold-items"
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


def split(
    data: InteractionData,
    *,
    protocol: str = "time",
    cold: str | None = None,
    holdout: int = 1,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Split:
    """Train and test sets as described in the module docstring (``cold`` overrides ``protocol``)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
    if cold not in (None, *COLD):
        raise ValueError(f"cold must be one of {', '.join(COLD)} or None, not {cold!r}")
    if not 0 < test_fraction < 1:
        raise ValueError("test_fraction must be between 0 and 1")
    if protocol == "per-user" and cold is None:
        return per_user_split(data, holdout=holdout, seed=seed)
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


def per_user_split(data: InteractionData, *, holdout: int = 1, seed: int = 0) -> Split:
    """Each user's latest ``holdout`` positives held out, for users with at least ``2 * holdout``."""
    if not isinstance(holdout, int | np.integer) or not 1 <= holdout <= MAX_HOLDOUT:
        raise ValueError(f"holdout must be a whole number between 1 and {MAX_HOLDOUT}, not {holdout!r}")
    data = merge_pairs(data)
    rng = np.random.default_rng(seed)
    positive = data.weights > 0
    if not len(data):
        return Split("per-user", data, data, [])
    _, codes = np.unique(np.asarray(data.user_ids, dtype=str), return_inverse=True)
    eligible = np.bincount(codes[positive], minlength=codes.max() + 1) >= 2 * holdout
    index = np.flatnonzero(positive & eligible[codes])
    latest_first = -data.timestamps[index] if data.timestamps is not None else np.zeros(len(index))
    order = index[np.lexsort((rng.random(len(index)), latest_first, codes[index]))]
    starts = np.concatenate([[0], np.flatnonzero(np.diff(codes[order])) + 1])
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.append(starts, len(order))))
    in_test = np.zeros(len(data), dtype=bool)
    in_test[order[rank < holdout]] = True
    return Split("per-user", data.select(~in_test), data.select(in_test), data.items())


def validation_split(
    train: InteractionData, *, holdout: int = 1, seed: int = 0
) -> tuple[InteractionData, InteractionData]:
    """``(inner training data, validation positives)`` carved from ``train`` by the per-user protocol:
    what tuning and early stopping look at, never the test set."""
    parts = per_user_split(train, holdout=holdout, seed=seed + 7919)
    return parts.train, parts.test


def _share(count: int, fraction: float) -> int:
    return min(count, max(1, round(count * fraction)))


# --------------------------------------------------------------------------- metrics
def ranking_metrics(
    scores: np.ndarray, train: np.ndarray, test: np.ndarray, *, k: int = K, auc: bool = True
) -> dict[str, np.ndarray]:
    """Per-user metrics of a ``users x candidates`` score matrix; ``train`` and ``test`` are boolean
    masks of the same shape (training items are excluded from the ranking). ``top`` holds each
    user's ``k`` best candidates (column numbers), best first. A user without test positives gets
    NaN recall, NDCG, MAP and AUC."""
    # float32 stays float32 (early stopping scores thousands of users after every epoch)
    scores = np.where(train, -np.inf, np.asarray(scores, dtype=np.result_type(scores.dtype, np.float32)))
    n_candidates = scores.shape[1]
    depth = min(k, n_candidates)
    top = (
        np.argpartition(-scores, depth - 1, axis=1)[:, :depth]
        if depth < n_candidates
        else np.tile(np.arange(depth), (len(scores), 1))
    )
    rows = np.arange(len(scores))[:, None]
    top = np.take_along_axis(top, np.argsort(-scores[rows, top], axis=1, kind="stable"), axis=1)
    hits = test[rows, top] & ~train[rows, top]
    positives = test.sum(axis=1)
    discount = 1 / np.log2(np.arange(2, depth + 2))
    ideal = np.concatenate([[0.0], np.cumsum(discount)])[np.minimum(positives, depth)]
    precision_at_rank = np.cumsum(hits, axis=1) / np.arange(1, depth + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        metrics = {
            "precision_at_5": hits[:, :5].sum(axis=1) / 5,
            f"precision_at_{k}": hits.sum(axis=1) / k,
            f"recall_at_{k}": np.where(positives > 0, hits.sum(axis=1) / positives, np.nan),
            f"ndcg_at_{k}": np.where(positives > 0, (hits * discount).sum(axis=1) / ideal, np.nan),
            f"map_at_{k}": np.where(
                positives > 0, (precision_at_rank * hits).sum(axis=1) / np.minimum(positives, k), np.nan
            ),
        }
    if auc:
        from scipy.stats import rankdata

        excluded = train.sum(axis=1)
        negatives = n_candidates - excluded - positives
        ranks = rankdata(scores, axis=1)  # average ranks for ties; training items sit at the bottom
        with np.errstate(divide="ignore", invalid="ignore"):
            value = ((ranks * test).sum(axis=1) - positives * (positives + 1) / 2 - positives * excluded) / (
                positives * negatives
            )
        metrics["auc"] = np.where((negatives > 0) & (positives > 0), value, np.nan)
    metrics["top"] = top
    return metrics


def paired_bootstrap(
    a: np.ndarray, b: np.ndarray, *, resamples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> dict:
    """A percentile bootstrap interval for ``mean(a - b)`` over paired per-user values (users whose
    either value is NaN are left out): the users are resampled with replacement ``resamples`` times."""
    difference = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    difference = difference[np.isfinite(difference)]
    if not len(difference):
        raise ValueError("no user has both values: nothing to compare")
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    chunk = max(1, 2_000_000 // len(difference))
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        means[start:stop] = difference[rng.integers(0, len(difference), size=(stop - start, len(difference)))].mean(
            axis=1
        )
    low, high = np.quantile(means, [(1 - confidence) / 2, 1 - (1 - confidence) / 2])
    return {
        "difference": float(difference.mean()),
        "low": float(low),
        "high": float(high),
        "users": len(difference),
        "resamples": resamples,
        "confidence": confidence,
    }


# --------------------------------------------------------------------------- the run
def evaluate(
    data: InteractionData,
    *,
    protocol: str = "time",
    cold: str | None = None,
    holdout: int = 1,
    seed: int = 0,
    test_fraction: float = 0.2,
    loss: str = "warp",
    components: int = 32,
    epochs: int = 60,
    learning_rate: float = 0.1,
    patience: int = 5,
    search: float = 0,
    threads: int | None = None,
    max_users: int = 2000,
    models: Sequence[str] = MODELS,
    peer_grids: dict | None = None,
    resamples: int = 2000,
    progress: Callable[[str, int, int], None] | None = None,
    **fit_options,
) -> dict:
    """Fit and score ``models`` on one split of ``data``; a JSON-ready report.

    ``oracle`` is skipped when the data has no planted affinity. ``epochs`` is a maximum when
    ``patience`` is above 0 (early stopping on the validation carve-out); 0 trains exactly
    ``epochs``. ``search`` seconds of random search pick the hybrid's components, learning rate,
    regularisation, ``max_sampled`` and ``identity_weight``. ``train_seconds`` is the hybrid's whole training time (search, early stopping
    and the final fit). Other keyword arguments go to :meth:`Recommender.fit` (``normalize``,
    ``item_alpha``, ``user_alpha``, ``max_sampled``, ...).
    """
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown model {unknown[0]!r}; choose from {', '.join(MODELS)}")
    parts = split(data, protocol=protocol, cold=cold, holdout=holdout, test_fraction=test_fraction, seed=seed)
    rng = np.random.default_rng(seed + 1)
    test_users = parts.test.users()
    if len(test_users) > max_users:
        test_users = sorted(rng.choice(test_users, size=max_users, replace=False).tolist())
    # A random candidate order makes index-based tie-breaking (argpartition, stable sorts) random too.
    candidates = [parts.candidates[n] for n in rng.permutation(len(parts.candidates))]
    trained_users = set(parts.train.user_ids)
    report = {
        "split": parts.kind,
        "models": {},
        "train_seconds": None,
        "sizes": {
            "users": len(set(parts.train.user_ids) | set(parts.test.user_ids)),
            "items": len(set(parts.train.item_ids) | set(parts.test.item_ids)),
            "train_interactions": len(parts.train),
            "test_interactions": len(parts.test),
            "test_users": len(parts.test.users()),
            "evaluated_users": len(test_users),
            "evaluated_users_without_training_rows": sum(u not in trained_users for u in test_users),
            "candidates": len(candidates),
        },
        "counts": {"train": parts.train.counts(), "test": parts.test.counts()},
        "evaluated_users": len(test_users),
        "candidates": len(candidates),
        "params": {
            "protocol": protocol,
            "cold": cold,
            "holdout": holdout if parts.kind == "per-user" else None,
            "loss": loss,
            "components": components,
            "epochs": epochs,
            "learning_rate": learning_rate,
            "patience": patience,
            "search_seconds": search,
            "seed": seed,
            "test_fraction": test_fraction if parts.kind != "per-user" else None,
            **{
                key: value
                for key, value in fit_options.items()
                if key in ("item_alpha", "user_alpha", "max_sampled", "identity_weight", "ensemble")
            },
        },
        "tuning": {},
        "omitted": {},
    }
    if not test_users or not candidates:
        raise ValueError("the split left no test interactions: the data is too small to evaluate")
    train_mask = _mask(parts.train, test_users, candidates)
    test_mask = _mask(parts.test, test_users, candidates)
    inner, validation = validation_split(parts.train, holdout=holdout, seed=seed)
    report["sizes"]["validation_interactions"] = len(validation)

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
        options = {**fit, "use_features": use_features}
        tuned: dict = {}
        if search > 0 and use_features and len(validation):
            found = tuning.search(
                inner,
                validation,
                budget_seconds=search,
                base=options,
                patience=max(patience, 1),
                seed=seed,
                progress=progress,
            )
            options.update({key: value for key, value in found["params"].items() if key != "neighbours"})
            tuned["search"] = {
                key: found[key] for key in ("validation_ndcg_at_10", "trials", "seconds", "budget_seconds")
            }
            model = Recommender().fit(parts.train, progress=_named(progress, name), **options)
            if found["early_stopping"]:
                model.params["early_stopping"] = found["early_stopping"]
            probe = Recommender().fit(inner, **{**options, "ensemble": 1})
            tuning.add_neighbours(model, probe, inner, validation, parts.train, seed=seed)
        elif patience > 0:
            model = tuning.fit_early_stopped(
                inner,
                validation,
                parts.train,
                patience=patience,
                progress=progress,
                stage=f"{name} (validation)",
                with_neighbours=use_features,
                **options,
            )
        else:
            model = Recommender().fit(parts.train, progress=_named(progress, name), **options)
        seconds = time.perf_counter() - started
        report["train_seconds" if use_features else "train_seconds_pure"] = round(seconds, 3)
        report["tuning"][name] = {
            "params": tuning.chosen(model.params),
            **({"early_stopping": model.params["early_stopping"]} if "early_stopping" in model.params else {}),
            **tuned,
        }
        scorers[name] = _lightfm_scorer(model, data, test_users, candidates)
        if model.neighbours is not None and "hybrid_without_neighbours" in models:
            scorers["hybrid_without_neighbours"] = _lightfm_scorer(
                model, data, test_users, candidates, neighbours=False
            )
    # One thread unless told: implicit's OpenMP threads spin and crawl on a busy two-core machine
    # (a tiny ALS fit took 4 s with two threads under load, 0.03 s with one).
    peer_threads = threads or 1
    for name in (p for p in peers.PEERS if p in models):
        if parts.kind.startswith("cold"):
            report["omitted"][name] = (
                f"no side features: {'a user' if parts.kind == 'cold-users' else 'an item'} without training "
                "interactions cannot be ranked (every score would tie)"
            )
            continue
        if progress:
            progress(f"{name} (tuning)", 0, 1)
        started = time.perf_counter()
        chosen = peers.tune(
            name, inner, validation, space=(peer_grids or {}).get(name), seed=seed, threads=peer_threads
        )
        matrix = peers.Matrix.of(parts.train, items=candidates)
        peer = peers.Peer(name, chosen["params"], seed=seed, threads=peer_threads).fit(matrix)
        report["tuning"][name] = {**chosen, "seconds": round(time.perf_counter() - started, 3)}
        if progress:
            progress(f"{name} (tuning)", 1, 1)
        rows, known = matrix.rows(test_users)
        scorers[name] = lambda window, peer=peer, rows=rows, known=known: (
            peer.scores(rows[window]) * known[window, None]
        )
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

    per_user: dict[str, dict[str, np.ndarray]] = {}
    for name in (m for m in MODELS if m in scorers):
        parts_of: dict[str, list[np.ndarray]] = {}
        for start in range(0, len(test_users), 500):
            rows = slice(start, min(len(test_users), start + 500))
            metrics = ranking_metrics(scorers[name](rows), train_mask[rows].toarray(), test_mask[rows].toarray())
            for key, values in metrics.items():
                parts_of.setdefault(key, []).append(values)
        values = {key: np.concatenate(v) for key, v in parts_of.items()}
        top = values.pop("top")
        per_user[name] = values
        report["models"][name] = {
            **{key: round(float(np.nanmean(v)), 4) for key, v in values.items()},
            "coverage_at_10": round(len(np.unique(top)) / len(candidates), 4),
        }
    report["comparison"] = _compare(per_user, resamples=resamples, seed=seed)
    # The goal's yardstick: the best of the tuned standard peers (ALS, BPR, item kNN), when any ran.
    report["comparison_peer"] = _compare(per_user, resamples=resamples, seed=seed, among=peers.PEERS)
    return report


def _compare(
    per_user: dict[str, dict[str, np.ndarray]], *, resamples: int, seed: int, among: Sequence[str] | None = None
) -> dict | None:
    """The hybrid against the best other model but the oracle (by mean NDCG@10; of ``among`` when
    given): paired bootstrap intervals of the per-user differences in NDCG@10 and precision@10."""
    others = [name for name in per_user if name not in ("lightfm_hybrid", "hybrid_without_neighbours", "oracle")]
    if among is not None:
        others = [name for name in others if name in among]
    if "lightfm_hybrid" not in per_user or not others:
        return None
    best = max(others, key=lambda name: np.nanmean(per_user[name]["ndcg_at_10"]))
    hybrid = per_user["lightfm_hybrid"]
    return {
        "baseline": best,
        **{
            metric: {
                key: round(value, 5) if isinstance(value, float) else value
                for key, value in paired_bootstrap(
                    hybrid[metric], per_user[best][metric], resamples=resamples, seed=seed
                ).items()
            }
            for metric in ("ndcg_at_10", "precision_at_10")
        },
    }


def _named(progress, name: str):
    return (lambda epoch, total: progress(name, epoch, total)) if progress else None


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


def _lightfm_scorer(
    model: Recommender, data: InteractionData, users: list[str], items: list[str], *, neighbours: bool = True
):
    """Scores as :meth:`Recommender.score` gives them, many users at once."""
    matrix = model.item_matrix([(i, data.item_features.get(i, [])) for i in items])
    vectors, biases = model.user_matrix([(u, data.user_features.get(u, [])) for u in users])
    near = model.neighbours if neighbours else None

    def scores(rows: slice) -> np.ndarray:
        base = vectors[rows] @ matrix.vectors.T + matrix.biases[None, :] + biases[rows, None]
        if near is None:
            return base
        return blend(base, near.scores(users[rows], matrix.columns(near), len(items)), near.weight)

    return scores
