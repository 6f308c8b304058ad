from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from mentoring.recommender.cli import ProgressBar, add_training_arguments, training_params
from mentoring.recommender.data import CsvError, read_csv, synthetic
from mentoring.recommender.evaluate import COLD, evaluate

SYNTHETIC_USERS, SYNTHETIC_ITEMS = 2000, 500


class Command(BaseCommand):
    help = (
        "Evaluate the recommender against popularity, random and (synthetic data) the oracle on one split: "
        "precision@5, precision@10, recall@10 and AUC."
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
        parser.add_argument("--cold", choices=COLD, help="Hold out whole users or items (cold start).")
        parser.add_argument("--max-users", type=int, default=2000, help="Test users scored at most (default 2000).")
        add_training_arguments(parser)

    def handle(self, *args, **options):
        try:
            params = training_params(options)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if options["seed"] < 0:
            raise CommandError(f"--seed must be 0 or more, not {options['seed']}")
        if options["max_users"] < 1:
            raise CommandError(f"--max-users must be at least 1, not {options['max_users']}")
        data = self._data(options)
        progress = (
            None
            if options["json"] or options["verbosity"] < 1
            else ProgressBar(lambda text: self.stderr.write(text, ending=""), interactive=self.stderr.isatty())
        )
        try:
            report = evaluate(
                data,
                cold=options["cold"],
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
        self.stdout.write(
            f"source {report['source']}, split {report['split']}, {report['evaluated_users']} test users, "
            f"{report['candidates']} candidate items, hybrid trained in {report['train_seconds']}s"
        )
        self.stdout.write(f"{'model':<16}{'p@5':>8}{'p@10':>8}{'r@10':>8}{'auc':>8}")
        for name, m in report["models"].items():
            self.stdout.write(
                f"{name:<16}{m['precision_at_5']:>8.4f}{m['precision_at_10']:>8.4f}{m['recall_at_10']:>8.4f}{m['auc']:>8.4f}"
            )

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
