from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mentoring.recommender.cli import ProgressBar, add_training_arguments, training_params
from mentoring.services.recommendations import recommender_train


class Command(BaseCommand):
    help = (
        "Train the recommender on the site's data: metrics on a time-based holdout (epochs by early stopping, "
        "settings by --search, on a validation split of its training part), then a model fitted on everything "
        "with those settings, saved with them as a new version in RECOMMENDER_DIR."
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
            f"in {result.seconds:.1f}s ({describe_params(result.params, result.tuning)}). "
            f"{measured} Saved version {result.version} in {directory}."
        )


def describe_params(params: dict, tuning: dict) -> str:
    """The settings the saved model was trained with, and how they were chosen."""
    text = (
        f"{params['loss']}, {params['components']} components, {params['epochs']} epochs, learning rate "
        f"{params['learning_rate']:g}, item_alpha {params['item_alpha']:g}, user_alpha {params['user_alpha']:g}"
    )
    if params.get("identity_weight") is not None:
        text += f", identity weight {params['identity_weight']:g}"
    if params.get("max_sampled", 10) != 10:
        text += f", max_sampled {params['max_sampled']}"
    if params.get("ensemble", 1) > 1:
        text += f", ensemble of {params['ensemble']}"
    near = params.get("neighbours")
    if near and near["weight"]:
        text += (
            f"; item neighbourhood k {near['k']}, weight {near['weight']:g} (validation NDCG@10 "
            f"{near['validation_ndcg_at_10']:.3f}, LightFM alone {near['validation_ndcg_at_10_alone']:.3f})"
        )
    elif near and "skipped" in near:
        text += f"; no item neighbourhood: {near['skipped']}"
    elif near:
        text += "; no item neighbourhood (it did not help on validation)"
    stopped = tuning.get("early_stopping")
    if stopped and "skipped" in stopped:
        text += f"; epochs fixed, not by early stopping: {stopped['skipped']}"
    elif stopped:
        text += (
            f"; epochs by early stopping: best of {stopped['epochs_run']} on {stopped['validation_users']} "
            f"validation learners, NDCG@10 {stopped['validation_ndcg_at_10']:.3f}"
        )
    search = tuning.get("search")
    if search and search["trials"]:
        tried = len(search["trials"])
        text += f"; search: {tried} setting{'s' if tried != 1 else ''} tried in {search['seconds']:.0f}s"
    return text
