"""Training for production: measure on a holdout, fit on everything, save a version.

Used by ``manage.py train_recommender``; takes :class:`~.data.InteractionData` and a directory, knows
nothing of Django.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import artifact
from .data import InteractionData
from .evaluate import evaluate
from .model import Recommender

# Chosen on the synthetic data (evaluate_recommender, bench/recommend.py --quality): a learning rate of
# 0.1 beats 0.05 and 0.2; past 20 epochs nothing improves; 16 components lose, 64 gain little.
DEFAULT_PARAMS = {"loss": "warp", "components": 32, "epochs": 20, "learning_rate": 0.1}
MIN_USERS = MIN_ITEMS = 2


@dataclass
class TrainingResult:
    counts: dict
    seconds: float = 0.0
    metrics: dict = field(default_factory=dict)  # holdout: {"split": .., "lightfm_hybrid": {..}, "popularity": {..}}
    version: str | None = None
    skipped: str | None = None  # why nothing was trained


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


def train_and_save(
    data: InteractionData,
    directory: str | Path,
    *,
    params: dict | None = None,
    seed: int = 0,
    keep: int = 5,
    progress: Callable[[str, int, int], None] | None = None,
) -> TrainingResult:
    """Evaluate on a time-based holdout (random when there are no timestamps), then fit on all data
    and save it as a new version in ``directory`` (keeping the newest ``keep``)."""
    params = {**DEFAULT_PARAMS, **(params or {})}
    result = TrainingResult(counts=data.counts())
    result.skipped = too_little_data(data)
    if result.skipped:
        return result
    started = time.perf_counter()
    try:
        report = evaluate(
            data,
            seed=seed,
            models=("lightfm_hybrid", "popularity"),
            progress=(lambda _name, epoch, epochs: progress("holdout", epoch, epochs)) if progress else None,
            **params,
        )
        result.metrics = {"split": report["split"], **report["models"]}
    except ValueError as exc:  # e.g. every interaction at one instant: no holdout possible
        result.metrics = {"skipped": str(exc)}
    model = Recommender().fit(
        data,
        seed=seed,
        progress=(lambda epoch, epochs: progress("final", epoch, epochs)) if progress else None,
        **params,
    )
    result.seconds = round(time.perf_counter() - started, 3)
    result.counts["negative_interactions"] = int(np.count_nonzero(data.weights <= 0))
    result.version = artifact.save(
        model, directory, counts=result.counts, metrics=result.metrics, extra={"train_seconds": result.seconds}
    )
    artifact.prune(directory, keep=keep)
    return result
