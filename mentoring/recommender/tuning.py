"""Training settings that fit the data: epochs by early stopping and a time-boxed random search.

Both work on a validation split the caller carved from the training data (``inner`` is the training
data without it): the validation interactions are never trained on while a setting is chosen. The
chosen settings are then used to fit on the whole training data (``full``), the epochs fixed at the
best epoch found.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from . import neighbours
from .data import InteractionData
from .model import MIN_VALIDATION_USERS, Recommender, measurable_validation_users

SEARCH_SPACE: dict[str, Sequence] = {
    "components": (16, 32, 64, 96),
    "learning_rate": (0.05, 0.1),
    "item_alpha": (0.0, 1e-6, 1e-5, 1e-4),
    "user_alpha": (0.0, 1e-6, 1e-5, 1e-4),
    # None: LightFM's plain normalisation (the identity is one feature among n). Strong weights pay
    # on data whose side features say little about taste (MovieLens), not on the synthetic data.
    "identity_weight": (None, 0.5, 0.7, 0.8, 0.9),
    "max_sampled": (10, 30, 50),
}
SEARCHED = tuple(SEARCH_SPACE)
# When early stopping has too little to go by: the fixed count chosen on the synthetic data before it.
FIXED_EPOCHS = 20
Progress = Callable[[str, int, int], None] | None


def chosen(params: Mapping) -> dict:
    """The settings a search or early stopping chose, as stored with a model version."""
    keys = (
        "loss",
        "components",
        "epochs",
        "learning_rate",
        "item_alpha",
        "user_alpha",
        "max_sampled",
        "identity_weight",
        "ensemble",
        "neighbours",
    )
    return {key: params[key] for key in keys if key in params}


def fit_early_stopped(
    inner: InteractionData,
    validation: InteractionData,
    full: InteractionData,
    *,
    patience: int = 5,
    progress: Progress = None,
    stage: str = "early stopping",
    with_neighbours: bool = True,
    **params,
) -> Recommender:
    """Epochs chosen on ``validation`` (at most ``params["epochs"]``), then a fit on ``full`` for that
    many epochs. With too little validation data (see :meth:`Recommender.fit`) ``full`` is fitted for
    :data:`FIXED_EPOCHS` (or ``params["epochs"]`` when lower), and ``early_stopping`` says why.
    ``with_neighbours``: the neighbourhood's ``k`` and weight are chosen on the same validation data
    (see :func:`add_neighbours`)."""
    stopped = None
    probe = None
    users = measurable_validation_users(inner, validation) if len(validation) else 0
    if len(validation) and users < MIN_VALIDATION_USERS:  # too few to go by: no probe worth its time
        stopped = {
            "skipped": f"{users} validation users, fewer than {MIN_VALIDATION_USERS}: too noisy to choose the epochs by",
            "validation_users": users,
        }
    elif len(validation):
        probe = Recommender().fit(  # one member is enough to choose the epochs by
            inner,
            validation=validation,
            patience=patience,
            progress=_stage(progress, stage),
            **{**params, "ensemble": 1},
        )
        stopped = probe.params.get("early_stopping")
    if stopped is None or "best_epoch" not in stopped:  # no validation, or too little to go by
        epochs = min(params["epochs"], FIXED_EPOCHS)
        model = Recommender().fit(full, progress=_stage(progress, "final"), **{**params, "epochs": epochs})
        model.params["early_stopping"] = {
            "skipped": (stopped or {}).get("skipped", "no validation interactions"),
            "validation_users": (stopped or {}).get("validation_users", 0),
            "fixed_epochs": epochs,
        }
        return model
    model = Recommender().fit(full, progress=_stage(progress, "final"), **{**params, "epochs": stopped["best_epoch"]})
    model.params["early_stopping"] = stopped
    if with_neighbours:
        add_neighbours(model, probe, inner, validation, full, seed=params.get("seed", 0))
    return model


def add_neighbours(
    model: Recommender,
    probe: Recommender,
    inner: InteractionData,
    validation: InteractionData,
    full: InteractionData,
    *,
    seed: int = 0,
) -> Recommender:
    """Give ``model`` (fitted on ``full``) the item-item neighbourhood of ``full`` with the ``k`` and
    weight that served ``probe`` (the same settings fitted on ``inner``) best on ``validation``;
    weight 0 leaves it off. ``model.params["neighbours"]`` records the choice."""
    chosen = neighbours.choose(probe, inner, validation, seed=seed)
    model.params["neighbours"] = chosen
    model.neighbours = (
        neighbours.Neighbours.of(full, k=chosen["k"], weight=chosen["weight"]) if chosen["weight"] else None
    )
    return model


def search(
    inner: InteractionData,
    validation: InteractionData,
    *,
    budget_seconds: float,
    base: Mapping,
    patience: int = 5,
    seed: int = 0,
    space: Mapping[str, Sequence] | None = None,
    progress: Progress = None,
) -> dict:
    """Random search over ``space`` (default :data:`SEARCH_SPACE`) within ``budget_seconds``.

    The first trial is ``base`` itself; each trial is early-stopped on ``validation``. A trial is not
    started when the mean trial so far would overrun the budget (the first always runs). Returns
    ``{"params": best settings with their best epoch, "validation_ndcg_at_10", "early_stopping" (of
    the best trial), "trials": [...], "seconds", "budget_seconds"}``.
    """
    space = SEARCH_SPACE if space is None else space
    defaults = {name: p.default for name, p in inspect.signature(Recommender.fit).parameters.items() if name in space}
    base = {**defaults, **base}  # so the base settings count as the grid point they are
    users = measurable_validation_users(inner, validation)
    if users < MIN_VALIDATION_USERS:  # nothing to compare settings by: the base settings, fixed epochs
        epochs = min(base["epochs"], FIXED_EPOCHS)
        return {
            "params": chosen({**base, "epochs": epochs}),
            "validation_ndcg_at_10": None,
            "early_stopping": {
                "skipped": f"{users} validation users, fewer than {MIN_VALIDATION_USERS}: no search either",
                "validation_users": users,
                "fixed_epochs": epochs,
            },
            "trials": [],
            "seconds": 0.0,
            "budget_seconds": budget_seconds,
        }
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    trials: list[dict] = []
    seen: set[tuple] = set()
    candidate = dict(base)
    distinct = int(np.prod([len(v) for v in space.values()]))
    distinct += 0 if all(base.get(name) in values for name, values in space.items()) else 1
    while True:
        key = tuple(candidate.get(name) for name in space)
        if key not in seen:
            seen.add(key)
            trial_started = time.perf_counter()
            model = Recommender().fit(
                inner,
                validation=validation,
                patience=patience,
                progress=_stage(progress, f"search {len(trials) + 1}"),
                **{**candidate, "ensemble": 1},  # settings are compared on one member each
            )
            stopped = model.params.get("early_stopping") or {}
            trials.append(
                {
                    "params": chosen(model.params),
                    "validation_ndcg_at_10": stopped.get("validation_ndcg_at_10", 0.0),
                    "early_stopping": stopped,
                    "seconds": round(time.perf_counter() - trial_started, 3),
                }
            )
        elapsed = time.perf_counter() - started
        mean = elapsed / max(len(trials), 1)
        if elapsed + mean > budget_seconds or len(seen) >= distinct:
            break
        candidate = {**base, **{name: _pick(rng, values) for name, values in space.items()}}
    best = max(trials, key=lambda t: t["validation_ndcg_at_10"])
    return {
        "params": best["params"],
        "validation_ndcg_at_10": best["validation_ndcg_at_10"],
        "early_stopping": best["early_stopping"],
        "trials": trials,
        "seconds": round(time.perf_counter() - started, 3),
        "budget_seconds": budget_seconds,
    }


def _pick(rng: np.random.Generator, values: Sequence):
    value = values[int(rng.integers(len(values)))]
    return value.item() if isinstance(value, np.generic) else value


def _stage(progress: Progress, name: str):
    return (lambda epoch, epochs: progress(name, epoch, epochs)) if progress else None
