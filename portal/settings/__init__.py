"""Settings package: ``base`` plus thin ``dev``/``test``/``production`` overrides.

Which one is used is chosen by ``DJANGO_ENV`` (see :func:`select_settings_module`).
"""

from __future__ import annotations

import os

ENVIRONMENTS = ("dev", "test", "production")


def select_settings_module() -> None:
    """Point DJANGO_SETTINGS_MODULE at ``portal.settings.<DJANGO_ENV>`` unless already set."""
    env = os.environ.get("DJANGO_ENV", "dev").strip() or "dev"
    if env not in ENVIRONMENTS:
        raise SystemExit(f"DJANGO_ENV must be one of {', '.join(ENVIRONMENTS)}; got {env!r}.")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", f"portal.settings.{env}")
