"""Training for production: measure on a holdout, fit on everything, save a version.

The epochs are chosen by early stopping (and, with ``search`` seconds, the components, learning rate
and regularisation by a random search) on a validation split carved from the holdout's training
part; the final model is fitted on everything with those settings, and they are stored with the
version (``params`` and ``tuning`` in its metadata).

Used by ``manage.py train_recommender``; takes :class:`~.data.InteractionData` and a directory, knows
nothing of Django.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import artifact, tuning
from .data import InteractionData
from .evaluate import evaluate, validation_split
from .model import Recommender
from .neighbours import Neighbours

# Chosen on the synthetic data (evaluate_recommender, bench/recommend.py --quality): a learning rate of
# 0.1 beats 0.05 and 0.2; 16 components lose, 64 gain little. Epochs: at most 60, early stopping
# picks the best (about 20 on the synthetic data; 40-60 were better on real data).
DEFAULT_PARAMS = {
    "loss": "warp",
    "components": 32,
    "epochs": 60,
    "learning_rate": 0.1,
    "item_alpha": 0.0,
    "user_alpha": 0.0,
    "max_sampled": 10,
    # None: LightFM's plain row normalisation. A stronger identity share helps on MovieLens and hurts on
    # the synthetic data, so it is left to the search (tuning.SEARCH_SPACE), which measures it.
    "identity_weight": None,
    # Models with seeds seed, seed + 1, ... served as one (see Recommender.fit): 1 keeps the training
    # time of bench/recommend.py; more members trade training time for less luck.
    "ensemble": 1,
    "patience": 5,
}
MIN_USERS = MIN_ITEMS = 2


@dataclass
class TrainingResult:
    counts: dict
    seconds: float = 0.0
    metrics: dict = field(default_factory=dict)  # holdout: {"split": .., "lightfm_hybrid": {..}, "popularity": {..}}
    version: str | None = None
    skipped: str | None = None  # why nothing was trained
    params: dict = field(default_factory=dict)  # what the saved model was trained with
    tuning: dict = field(default_factory=dict)  # how they were chosen: early_stopping, search


def too_little_data(data: InteractionData) -> str | None:
    """Why ``data`` cannot train a model, or ``None`` when it can."""
    positive = data.weights > 0
    users = {u for u, p in zip(data.user_ids, positive, strict=True) if p}
    items = {i for i, p in zip(data.item_ids, positive, strict=True) if p}
    if not positive.any():
        return "there are no positive interactions (bookings, attendance, good ratings) yet"
    if len(users) < MIN_USERS:
        return f"only {len(users)} learner has positive interactions; at least {MIN_USERS} are needed"
    if len(items) < MIN_ITEMS:
        return f"only {len(items)} session has positive interactions; at least {MIN_ITEMS} are needed"
    return None


def fit_tuned(
    data: InteractionData,
    *,
    params: dict | None = None,
    seed: int = 0,
    threads: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Recommender:
    """A model fitted on all of ``data`` for the epochs early stopping chose on a per-user validation
    split of it (``params["patience"]`` 0: exactly ``params["epochs"]``), with the item-item neighbourhood
    chosen on the same split unless ``params["with_neighbours"]`` is false."""
    params = {**DEFAULT_PARAMS, **(params or {})}
    params.pop("search", None)
    patience = params.pop("patience")
    with_neighbours = params.pop("with_neighbours", True)
    if patience < 1:
        return Recommender().fit(data, seed=seed, threads=threads, **params)
    inner, validation = validation_split(data, seed=seed)
    return tuning.fit_early_stopped(
        inner,
        validation,
        data,
        patience=patience,
        seed=seed,
        threads=threads,
        progress=progress,
        with_neighbours=with_neighbours,
        **params,
    )


def train_and_save(
    data: InteractionData,
    directory: str | Path,
    *,
    params: dict | None = None,
    seed: int = 0,
    keep: int = 5,
    progress: Callable[[str, int, int], None] | None = None,
) -> TrainingResult:
    """Evaluate on a time-based holdout (random when there are no timestamps), choosing the epochs
    (and with ``params["search"]`` seconds, the settings) on a validation split of its training part;
    then fit on all data with them and save it as a new version in ``directory`` (keeping the newest
    ``keep``)."""
    params = {**DEFAULT_PARAMS, **(params or {})}
    search = params.pop("search", 0)
    result = TrainingResult(counts=data.counts())
    result.skipped = too_little_data(data)
    if result.skipped:
        return result
    started = time.perf_counter()
    final = {key: value for key, value in params.items() if key != "patience"}
    try:
        report = evaluate(
            data,
            seed=seed,
            models=("lightfm_hybrid", "popularity"),
            search=search,
            progress=(lambda name, epoch, epochs: progress(f"holdout {name}"[:16], epoch, epochs))
            if progress
            else None,
            **params,
        )
        result.metrics = {"split": report["split"], **report["models"]}
        tuned = report["tuning"]["lightfm_hybrid"]
        final.update(tuned["params"])
        result.tuning = {key: tuned[key] for key in ("early_stopping", "search") if key in tuned}
    except ValueError as exc:  # e.g. every interaction at one instant: no holdout possible
        result.metrics = {"skipped": str(exc)}
    if result.tuning or params["patience"] < 1:
        near = final.pop("neighbours", None)  # chosen on the holdout's validation split
        model = Recommender().fit(
            data,
            seed=seed,
            progress=(lambda epoch, epochs: progress("final", epoch, epochs)) if progress else None,
            **final,
        )
        if near is not None:
            model.params["neighbours"] = near
            if near["weight"]:
                model.neighbours = Neighbours.of(data, k=near["k"], weight=near["weight"])
    else:  # no holdout: the epochs from a validation split of all the data, when it has one
        model = fit_tuned(data, params=params, seed=seed, progress=progress)
        if "early_stopping" in model.params:
            result.tuning = {"early_stopping": model.params["early_stopping"]}
    if "early_stopping" in result.tuning:
        model.params["early_stopping"] = result.tuning["early_stopping"]
    result.params = tuning.chosen(model.params)
    result.seconds = round(time.perf_counter() - started, 3)
    result.counts["negative_interactions"] = int(np.count_nonzero(data.weights <= 0))
    result.version = artifact.save(
        model,
        directory,
        counts=result.counts,
        metrics=result.metrics,
        extra={"train_seconds": result.seconds, "tuning": {"chosen": result.params, **result.tuning}},
    )
    artifact.prune(directory, keep=keep)
    return result
