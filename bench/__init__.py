"""Benchmarks against a real Daphne server. Run them as scripts: ``.venv/bin/python bench/http.py``."""
