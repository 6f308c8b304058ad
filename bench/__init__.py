"""Benchmarks against real servers. Run them as modules from the repository root:
``.venv/bin/python -m bench.http_load`` (``bench.signaling``, ``bench.call_setup``, ...; ``--help`` on each)."""

import sys

sys.dont_write_bytecode = True  # the repository is shared; leave no __pycache__ behind
