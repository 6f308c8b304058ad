from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from mentoring.recommender.cli import ProgressBar, add_training_arguments, training_params
from mentoring.recommender.data import CsvError, read_csv, synthetic
from mentoring.recommender.evaluate import COLD, MAX_HOLDOUT, PROTOCOLS, evaluate

SYNTHETIC_USERS, SYNTHETIC_ITEMS = 2000, 500
MAX_TEST_USERS = 100_000
COLUMNS = (
    ("p@5", "precision_at_5"),
    ("p@10", "precision_at_10"),
    ("r@10", "recall_at_10"),
    ("ndcg@10", "ndcg_at_10"),
    ("map@10", "map_at_10"),
    ("auc", "auc"),
    ("cov@10", "coverage_at_10"),
)


class Command(BaseCommand):
    help = (
        "Evaluate the recommender against tuned ALS, BPR and item-kNN peers, popularity, random and (synthetic "
        "data) the oracle on one split: precision@5/10, recall@10, NDCG@10, MAP@10, AUC, catalogue coverage, "
        "and paired bootstrap intervals for the hybrid against the best of the others and the best tuned peer."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of a table.")
        parser.add_argument(
            "--source", choices=("synthetic", "db", "csv"), default="synthetic", help="Default synthetic."
        )
        parser.add_argument("--users", type=int, help=f"Synthetic learners (default {SYNTHETIC_USERS}).")
        parser.add_argument("--items", type=int, help=f"Synthetic sessions (default {SYNTHETIC_ITEMS}).")
        parser.add_argument("--seed", type=int, default=0, help="Seed of the data, the split and training (default 0).")
        parser.add_argument("--interactions", help="CSV: user_id,item_id[,weight][,timestamp] with a header row.")
        parser.add_argument("--user-features", help="CSV: id,feature rows for users.")
        parser.add_argument("--item-features", help="CSV: id,feature rows for items.")
        parser.add_argument(
            "--protocol",
            choices=PROTOCOLS,
            default="time",
            help="time: the latest interactions overall (random per user without timestamps); per-user: each "
            "user's latest --holdout positives, users with at least twice as many (default time).",
        )
        parser.add_argument(
            "--holdout",
            type=int,
            default=1,
            help=f"Per-user protocol: positives held out per user (1-{MAX_HOLDOUT}, default 1).",
        )
        parser.add_argument("--cold", choices=COLD, help="Hold out whole users or items (cold start).")
        parser.add_argument(
            "--max-users",
            type=int,
            default=2000,
            help=f"Test users scored at most (1-{MAX_TEST_USERS}, default 2000).",
        )
        add_training_arguments(parser)

    def handle(self, *args, **options):
        try:
            params = training_params(options)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if options["seed"] < 0:
            raise CommandError(f"--seed must be 0 or more, not {options['seed']}")
        if not 1 <= options["max_users"] <= MAX_TEST_USERS:
            raise CommandError(f"--max-users must be between 1 and {MAX_TEST_USERS}, not {options['max_users']}")
        if not 1 <= options["holdout"] <= MAX_HOLDOUT:
            raise CommandError(f"--holdout must be between 1 and {MAX_HOLDOUT}, not {options['holdout']}")
        if options["holdout"] != 1 and (options["protocol"] != "per-user" or options["cold"]):
            raise CommandError("--holdout only applies to --protocol per-user (without --cold)")
        data = self._data(options)
        progress = (
            None
            if options["json"] or options["verbosity"] < 1
            else ProgressBar(lambda text: self.stderr.write(text, ending=""), interactive=self.stderr.isatty())
        )
        try:
            report = evaluate(
                data,
                protocol=options["protocol"],
                cold=options["cold"],
                holdout=options["holdout"],
                seed=options["seed"],
                max_users=options["max_users"],
                progress=progress,
                **params,
            )
        except ValueError as exc:
            raise CommandError(f"cannot evaluate: {exc}") from None
        report = {"source": options["source"], **report}
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        self.stdout.write(describe_split(report))
        self.stdout.write(f"{'model':<26}" + "".join(f"{title:>9}" for title, _ in COLUMNS))
        for name, m in report["models"].items():
            self.stdout.write(f"{name:<26}" + "".join(f"{m[key]:>9.4f}" for _, key in COLUMNS))
        for name, reason in report["omitted"].items():
            self.stdout.write(f"{name:<26} omitted: {reason}")
        for name, tuned in report["tuning"].items():
            self.stdout.write(f"{name:<26} tuned: {tuned['params']}")
        if report["comparison"]:
            self.stdout.write(describe_comparison(report["comparison"]))
        peer = report.get("comparison_peer")
        if peer and peer["baseline"] != (report["comparison"] or {}).get("baseline"):
            self.stdout.write(describe_comparison(peer, "best of the tuned peers"))

    def _data(self, options):
        source = options["source"]
        synthetic_only = [f"--{name}" for name in ("users", "items") if options[name] is not None]
        csv_only = [
            f"--{name.replace('_', '-')}"
            for name in ("interactions", "user_features", "item_features")
            if options[name]
        ]
        if source != "synthetic" and synthetic_only:
            raise CommandError(f"{', '.join(synthetic_only)} only apply to --source synthetic")
        if source != "csv" and csv_only:
            raise CommandError(f"{', '.join(csv_only)} only apply to --source csv")
        if source == "synthetic":
            users = SYNTHETIC_USERS if options["users"] is None else options["users"]
            items = SYNTHETIC_ITEMS if options["items"] is None else options["items"]
            if not 2 <= users <= 1_000_000:
                raise CommandError(f"--users must be between 2 and 1000000, not {users}")
            if not 2 <= items <= 100_000:
                raise CommandError(f"--items must be between 2 and 100000, not {items}")
            return synthetic(users, items, options["seed"])
        if source == "csv":
            if not options["interactions"]:
                raise CommandError("--source csv needs --interactions FILE")
            for name in ("interactions", "user_features", "item_features"):
                path = options[name]
                if path and not Path(path).is_file():
                    raise CommandError(f"--{name.replace('_', '-')}: no such file: {path}")
            try:
                return read_csv(options["interactions"], options["user_features"], options["item_features"])
            except (CsvError, ValueError) as exc:  # ValueError: e.g. a weight too large for float32
                raise CommandError(str(exc)) from None
        from mentoring.recommender.db import from_database

        return from_database()


def describe_split(report: dict) -> str:
    sizes, params = report["sizes"], report["params"]
    kind = report["split"]
    if kind == "per-user":
        how = f"per-user (each user's latest {params['holdout']} positive held out, users with at least {2 * params['holdout']})"
    else:
        how = kind
    cold_start = sizes["evaluated_users_without_training_rows"]
    return (
        f"source {report['source']}, split {how}: {sizes['users']} users, {sizes['items']} items, "
        f"{sizes['train_interactions']} train and {sizes['test_interactions']} test interactions "
        f"({sizes['validation_interactions']} of the train ones for validation); {sizes['evaluated_users']} test users "
        f"scored ({cold_start} without training rows), {sizes['candidates']} candidate items; "
        f"hybrid trained in {report['train_seconds']}s"
    )


def describe_comparison(comparison: dict, of: str = "best of the others") -> str:
    parts = []
    for metric in ("ndcg_at_10", "precision_at_10"):
        c = comparison[metric]
        parts.append(f"{metric} {c['difference']:+.4f} [{c['low']:+.4f}, {c['high']:+.4f}]")
    c = comparison["ndcg_at_10"]
    return (
        f"hybrid - {comparison['baseline']} ({of}), {round(100 * c['confidence'])}% paired bootstrap "
        f"over {c['users']} users: " + "; ".join(parts)
    )
