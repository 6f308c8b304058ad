from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from mentoring.tasks import BACKEND


class Command(BaseCommand):
    help = (
        "Run the background tasks (retraining the recommender) as run_periodic queues them, "
        "or only those queued now with --once."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval", type=float, default=5, help="Seconds between looks at an empty queue (1-3600, default 5)."
        )
        parser.add_argument("--once", action="store_true", help="Run the tasks queued now and exit.")

    def handle(self, *args, interval: float, once: bool, **options):
        if not 1 <= interval <= 3600:
            raise CommandError("--interval must be between 1 and 3600 seconds.")
        # django-tasks-db's worker: SIGTERM/SIGINT let a running task finish (a second one ends it).
        arguments = [f"--backend={BACKEND}", "--queue-name=*", f"--interval={interval}", "--no-reload"]
        if once:
            arguments += ["--batch", "--no-startup-delay"]
        call_command("db_worker", *arguments, verbosity=options["verbosity"], stdout=self.stdout, stderr=self.stderr)
