from __future__ import annotations

import signal
import time

from django.core.management.base import BaseCommand, CommandError

from mentoring.periodic import JOBS, periodic_run_once


class Command(BaseCommand):
    help = f"Run the periodic jobs ({', '.join(JOBS)}) every --interval seconds, or once."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=int, default=60, help="Seconds between runs (10-3600, default 60).")
        parser.add_argument("--once", action="store_true", help="Run the jobs once and exit.")

    def handle(self, *args, interval: int, once: bool, **options):
        if not 10 <= interval <= 3600:
            raise CommandError("--interval must be between 10 and 3600 seconds.")
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while True:
            results = periodic_run_once()
            if once or any(results.values()):
                self.stdout.write(", ".join(f"{name}: {count}" for name, count in results.items()))
            if once:
                return
            deadline = time.monotonic() + interval
            while not stopping and time.monotonic() < deadline:
                time.sleep(0.5)
            if stopping:
                return
