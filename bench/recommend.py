"""Recommender training time and top-k serving latency, in one run, without Django or a database.

    .venv/bin/python -m bench.recommend                 # a summary
    .venv/bin/python -m bench.recommend --json          # exactly one JSON object on stdout
    .venv/bin/python -m bench.recommend --quality       # also precision@10 against the baselines

What one run does:

1. draws synthetic interactions (``mentoring.recommender.data.synthetic``: 10k learners, 2k sessions,
   ~100k interactions by default) and times the production training (``training.fit_tuned``) with
   ``--threads`` LightFM threads: early stopping on a per-user validation split (each learner's latest
   interaction held out; NDCG@10 after every epoch, at most ``--epochs``), then a fit on all of them
   for the best epoch count, each fit building the LightFM dataset, running the epochs and keeping
   the embeddings;
2. for 1k, 10k and 100,001 candidate items (the 2k trained items, then new items made of their features),
   builds the candidates' representations once (``item_matrix``, timed), then times ``top_k(.., k=10)``
   for ``--requests`` users drawn from the learners (a tenth of them cold: features only), one call at
   a time. ``serve_*`` is that call: user representation, one matrix-vector product, the top 10
   (``top_indices``); ``list_*`` is the same call handed ``(id, features)`` pairs instead of the
   prepared matrix (each item's representation comes from the model's item store: what a page does
   with its few hundred candidates);
3. with ``--quality``, evaluates the same training settings on a random holdout of the same data
   (``evaluate``: hybrid, pure, popularity, random, oracle, each LightFM model early-stopped; the
   tuned peers are left to ``evaluate_recommender``).

Progress goes to stderr. The exit status is 2 when the benchmark could not run; missing a goal does
not change it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from importlib import metadata

import numpy as np

from bench.report import percentile, progress
from mentoring.recommender.data import synthetic
from mentoring.recommender.model import Recommender
from mentoring.recommender.training import DEFAULT_PARAMS, fit_tuned

# 100,001, just over 100,000: a list of (id, features) pairs that long emptied the model's item store
# on every call until issue 16 (its 200,000 rows were compared with what it held plus the whole list).
CANDIDATES = (1_000, 10_000, 100_001)
GOALS = {"train_seconds": 10.0, "serve_p99_ms_10000": 5.0}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Recommender training time and top-10 serving latency.")
    parser.add_argument("--users", type=int, default=10_000, help="synthetic learners (default 10000)")
    parser.add_argument("--items", type=int, default=2_000, help="synthetic sessions (default 2000)")
    parser.add_argument("--per-user", type=float, default=10.0, help="mean interactions per learner (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and training (default 0)")
    parser.add_argument(
        "--epochs",
        type=int,
        default=DEFAULT_PARAMS["epochs"],
        help="at most, with early stopping (default %(default)s)",
    )
    parser.add_argument(
        "--patience",
        type=int,
        default=DEFAULT_PARAMS["patience"],
        help="early stopping patience in epochs; 0: exactly --epochs, no validation (default %(default)s)",
    )
    parser.add_argument("--components", type=int, default=DEFAULT_PARAMS["components"], help="default %(default)s")
    parser.add_argument(
        "--learning-rate", type=float, default=DEFAULT_PARAMS["learning_rate"], help="default %(default)s"
    )
    parser.add_argument("--loss", choices=("warp", "bpr", "logistic"), default=DEFAULT_PARAMS["loss"])
    parser.add_argument("--threads", type=int, default=2, help="LightFM training threads (default 2)")
    parser.add_argument(
        "--requests", type=int, default=2000, help="timed top-10 calls per candidate count (default 2000)"
    )
    parser.add_argument(
        "--list-requests", type=int, default=100, help="timed calls with (id, features) lists (default 100)"
    )
    parser.add_argument(
        "--no-neighbours",
        action="store_true",
        help="LightFM alone: no item-item neighbourhood chosen, stored or served (to see what it costs)",
    )
    parser.add_argument("--quality", action="store_true", help="also evaluate on a holdout (slower)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    args = parser.parse_args(argv)
    for name in ("users", "items", "epochs", "components", "threads", "requests", "list_requests"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.patience < 0:
        parser.error("--patience must be 0 or more")
    return args


def candidates(data, count: int) -> list[tuple[str, list[str]]]:
    """The trained items first, then new items copying their features (new ids: scored from features)."""
    trained = sorted(data.item_features)
    items = [(item_id, data.item_features[item_id]) for item_id in trained[:count]]
    for n in range(count - len(items)):
        items.append((f"new{n}", data.item_features[trained[n % len(trained)]]))
    return items


def latencies_ms(call, users: list[tuple[str | None, list[str]]]) -> list[float]:
    gc.collect()
    times = []
    for user_id, features in users:
        started = time.perf_counter_ns()
        call(user_id, features)
        times.append((time.perf_counter_ns() - started) / 1e6)
    return sorted(times)


def train(data, args: argparse.Namespace, params: dict) -> tuple[Recommender, float, dict]:
    """The production training path (``training.fit_tuned``): the epochs chosen by early stopping on a
    per-user validation split (at most ``--epochs``), then a fit on all the data for that many; with
    ``--patience 0``, exactly ``--epochs`` on all the data. The time covers both."""
    # The libraries load before the clock starts, as in a process that trained before: LightFM's dataset
    # module imports scikit-learn (and it SciPy's statistics), about 1 s once per process here.
    import lightfm.data  # noqa: F401

    started = time.perf_counter()
    params = {**params, "patience": args.patience, **({"with_neighbours": False} if args.no_neighbours else {})}
    model = fit_tuned(data, params=params, seed=args.seed, threads=args.threads)
    train_seconds = time.perf_counter() - started
    stopped = model.params.get("early_stopping")
    training = {
        "epochs": model.params["epochs"],
        "patience": args.patience,
        "early_stopping": stopped,
        "neighbours": model.params.get("neighbours"),
    }
    if stopped and "best_epoch" in stopped:  # else skipped: too few learners to validate on
        progress(
            f"trained in {train_seconds:.2f}s: early stopping ran {stopped['epochs_run']} epochs on all but the "
            f"latest interaction of each learner, best {stopped['best_epoch']}; then {model.params['epochs']} epochs on all"
        )
    else:
        progress(f"trained in {train_seconds:.2f}s ({model.params['epochs']} epochs)")
    return model, train_seconds, training


def run(args: argparse.Namespace) -> dict:
    load_at_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    params = {
        "loss": args.loss,
        "components": args.components,
        "epochs": args.epochs,
        "learning_rate": args.learning_rate,
    }
    progress(f"drawing {args.users} learners x {args.items} sessions of synthetic data")
    started = time.perf_counter()
    data = synthetic(args.users, args.items, args.seed, interactions_per_user=args.per_user)
    counts = {**data.counts(), "generate_seconds": round(time.perf_counter() - started, 3)}
    progress(f"{counts['interactions']} interactions; training {params} on {args.threads} threads")

    model, train_seconds, training = train(data, args, params)

    rng = np.random.default_rng(args.seed)
    learners = sorted(data.user_features)
    drawn = rng.choice(len(learners), size=args.requests)
    users = [(None if n % 10 == 0 else learners[k], data.user_features[learners[k]]) for n, k in enumerate(drawn)]
    serve_p50, serve_p99, list_p50, list_p99, build_ms = {}, {}, {}, {}, {}
    for count in CANDIDATES:
        items = candidates(data, count)
        started = time.perf_counter()
        matrix = model.item_matrix(items)
        build_ms[str(count)] = round((time.perf_counter() - started) * 1000, 2)
        model.top_k(*users[0], matrix, 10)  # warm-up
        timed = latencies_ms(lambda uid, feats, m=matrix: model.top_k(uid, feats, m, 10), users)
        serve_p50[str(count)], serve_p99[str(count)] = round(percentile(timed, 50), 4), round(percentile(timed, 99), 4)
        timed = latencies_ms(lambda uid, feats, i=items: model.top_k(uid, feats, i, 10), users[: args.list_requests])
        list_p50[str(count)], list_p99[str(count)] = round(percentile(timed, 50), 3), round(percentile(timed, 99), 3)
        progress(
            f"{count:>6} candidates: top-10 p50 {serve_p50[str(count)]:.3f} ms, p99 {serve_p99[str(count)]:.3f} ms "
            f"(from (id, features) lists: p99 {list_p99[str(count)]:.2f} ms; matrix built in {build_ms[str(count)]:.1f} ms)"
        )

    report = {
        "train_seconds": round(train_seconds, 3),
        "training": training,
        "serve_p99_ms": serve_p99,
        "serve_p50_ms": serve_p50,
        "list_p99_ms": list_p99,
        "list_p50_ms": list_p50,
        "item_matrix_build_ms": build_ms,
        "data": counts,
        "params": {**params, "threads": args.threads, "seed": args.seed},
        "goals": {
            "train_seconds": {"target": GOALS["train_seconds"], "met": train_seconds < GOALS["train_seconds"]},
            "serve_p99_ms_10000": {
                "target": GOALS["serve_p99_ms_10000"],
                "met": serve_p99["10000"] < GOALS["serve_p99_ms_10000"],
            },
        },
    }
    if args.quality:
        from mentoring.recommender.evaluate import evaluate

        # LightFM and the baselines only: the tuned peers (evaluate_recommender) take minutes at this size.
        progress("evaluating the same settings on a random holdout (early stopping and fits for two models)")
        evaluation = evaluate(
            data,
            seed=args.seed,
            threads=args.threads,
            patience=args.patience,
            models=("lightfm_hybrid", "lightfm_pure", "popularity", "random", "oracle"),
            **params,
        )
        report["quality"] = {
            "split": evaluation["split"],
            "evaluated_users": evaluation["evaluated_users"],
            **{name: m["precision_at_10"] for name, m in evaluation["models"].items()},
        }
    report["config"] = {
        "cpu_count": os.cpu_count(),
        "load_average_1m": {"start": load_at_start, "end": os.getloadavg()[0] if hasattr(os, "getloadavg") else None},
        "python": platform.python_version(),
        "versions": {name: _version(name) for name in ("lightfm-next", "numpy", "scipy")},
    }
    return report


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def render(report: dict) -> str:
    goals = report["goals"]
    data, params = report["data"], report["params"]
    lines = [
        f"PeerLearn recommender benchmark: {data['users']} learners, {data['items']} sessions, "
        f"{data['interactions']} interactions; {params['loss']}, {params['components']} components, "
        f"{params['epochs']} epochs, {params['threads']} threads; {report['config']['cpu_count']} CPUs, "
        f"load {report['config']['load_average_1m']['start']} -> {report['config']['load_average_1m']['end']}",
        f"training: {report['train_seconds']:.2f} s (goal < {goals['train_seconds']['target']:g} s: "
        f"{'met' if goals['train_seconds']['met'] else 'MISSED'})",
        "",
        f"{'candidates':>10} {'p50 ms':>9} {'p99 ms':>9} {'list p99':>9} {'build ms':>9}",
    ]
    for count in report["serve_p99_ms"]:
        lines.append(
            f"{count:>10} {report['serve_p50_ms'][count]:>9.3f} {report['serve_p99_ms'][count]:>9.3f} "
            f"{report['list_p99_ms'][count]:>9.2f} {report['item_matrix_build_ms'][count]:>9.1f}"
        )
    goal = goals["serve_p99_ms_10000"]
    lines.append(f"top-10 p99 at 10k candidates: goal < {goal['target']:g} ms: {'met' if goal['met'] else 'MISSED'}")
    if "quality" in report:
        q = report["quality"]
        lines.append(
            "precision@10 on a holdout: "
            + ", ".join(f"{k} {v:.4f}" for k, v in q.items() if k not in ("split", "evaluated_users"))
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        report = run(args)
    except (ValueError, MemoryError) as exc:
        progress(f"cannot benchmark: {exc}")
        return 2
    print(json.dumps(report) if args.json else render(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
