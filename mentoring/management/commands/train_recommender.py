from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mentoring.recommender.cli import ProgressBar, add_training_arguments, training_params
from mentoring.services.recommendations import recommender_train


class Command(BaseCommand):
    help = (
        "Train the recommender on the site's data: metrics on a time-based holdout, then a model fitted on "
        "everything, saved as a new version in RECOMMENDER_DIR."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dir", help="Where to save the model (default: the RECOMMENDER_DIR setting).")
        parser.add_argument("--keep", type=int, default=5, help="Versions to keep (default 5).")
        parser.add_argument("--seed", type=int, default=0, help="Seed of the holdout and training (default 0).")
        add_training_arguments(parser)

    def handle(self, *args, **options):
        try:
            params = training_params(options)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if options["keep"] < 1:
            raise CommandError(f"--keep must be at least 1, not {options['keep']}")
        directory = Path(options["dir"] or settings.RECOMMENDER_DIR)
        progress = (
            ProgressBar(lambda text: self.stderr.write(text, ending=""), interactive=self.stderr.isatty())
            if options["verbosity"] >= 1
            else None
        )
        try:
            result = recommender_train(
                directory=directory, params=params, seed=options["seed"], keep=options["keep"], progress=progress
            )
        except ValueError as exc:  # e.g. training diverged with a too high learning rate
            raise CommandError(f"training failed: {exc}") from None
        counts = result.counts
        seen = (
            f"{counts['users']} learners, {counts['items']} sessions and {counts['interactions']} interactions "
            f"({counts['positive_interactions']} positive)"
        )
        if result.skipped:
            self.stdout.write(f"Not trained: {result.skipped}. The data has {seen}; no model was written.")
            return
        metrics = result.metrics
        if "lightfm_hybrid" in metrics:
            hybrid, popular = metrics["lightfm_hybrid"], metrics["popularity"]
            measured = (
                f"On a {metrics['split']} holdout the model reached precision@10 {hybrid['precision_at_10']:.3f}, "
                f"recall@10 {hybrid['recall_at_10']:.3f} and AUC {hybrid['auc']:.3f} "
                f"(popularity: {popular['precision_at_10']:.3f}, {popular['recall_at_10']:.3f}, {popular['auc']:.3f})."
            )
        else:
            measured = f"No holdout metrics: {metrics.get('skipped', 'the data is too small to split')}."
        self.stdout.write(
            f"Trained on {seen}, with {counts['user_features']} user and {counts['item_features']} item features, "
            f"in {result.seconds:.1f}s ({params['loss']}, {params['components']} components, {params['epochs']} epochs). "
            f"{measured} Saved version {result.version} in {directory}."
        )
