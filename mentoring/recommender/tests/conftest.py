"""Small fitted models shared by the recommender tests (real LightFM, fixed seeds, one thread)."""

from __future__ import annotations

import pytest

from mentoring.recommender.data import synthetic
from mentoring.recommender.model import Recommender


@pytest.fixture(scope="session")
def small_data():
    return synthetic(300, 80, seed=1)


@pytest.fixture(scope="session")
def fitted(small_data) -> Recommender:
    return Recommender().fit(small_data, epochs=15, components=16, threads=1, seed=1)
