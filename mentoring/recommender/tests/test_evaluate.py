"""Quality on synthetic data with planted structure (fixed seeds; the bounds are conservative: the
benchmark and ``evaluate_recommender`` report the real figures)."""

from __future__ import annotations

import numpy as np
import pytest

from mentoring.recommender.data import InteractionData, synthetic
from mentoring.recommender.evaluate import evaluate, merge_pairs, ranking_metrics, split

SIZE = {"users": 600, "items": 150}


@pytest.fixture(scope="module")
def data():
    return synthetic(SIZE["users"], SIZE["items"], seed=3)


@pytest.fixture(scope="module")
def warm(data):
    return evaluate(data, seed=3, threads=1)


@pytest.fixture(scope="module")
def cold_items(data):
    return evaluate(
        data, seed=3, threads=1, cold="items", models=("lightfm_hybrid", "lightfm_pure", "random", "oracle")
    )


def p10(report, model):
    return report["models"][model]["precision_at_10"]


def test_the_hybrid_model_beats_the_baselines_and_nears_the_oracle(warm):
    assert warm["split"] == "random"
    assert set(warm["models"]) == {"lightfm_hybrid", "lightfm_pure", "popularity", "random", "oracle"}
    # Typically 2.4-2.8x popularity and 0.75-0.8 of the oracle at this size.
    assert p10(warm, "lightfm_hybrid") >= 1.6 * p10(warm, "popularity")
    assert p10(warm, "lightfm_hybrid") >= 5 * p10(warm, "random")
    assert p10(warm, "lightfm_hybrid") >= 0.6 * p10(warm, "oracle")
    assert warm["models"]["lightfm_hybrid"]["auc"] > warm["models"]["popularity"]["auc"] + 0.05
    assert 0.45 < warm["models"]["random"]["auc"] < 0.55
    assert p10(warm, "oracle") > p10(warm, "lightfm_hybrid")  # the oracle really is the ceiling
    assert warm["train_seconds"] > 0 and warm["evaluated_users"] > 500


def test_on_new_items_features_beat_pure_collaborative_filtering(cold_items):
    assert cold_items["split"] == "cold-items" and cold_items["candidates"] == 30
    hybrid, pure = cold_items["models"]["lightfm_hybrid"], cold_items["models"]["lightfm_pure"]
    assert hybrid["precision_at_10"] >= 1.5 * pure["precision_at_10"]
    assert hybrid["auc"] >= pure["auc"] + 0.1
    assert pure["auc"] == pytest.approx(0.5, abs=0.02)  # identities of unseen items carry nothing


def test_random_split_holds_out_a_fifth_of_each_users_positives(data):
    parts = split(data, seed=0)
    assert parts.kind == "random"
    train_pairs = set(zip(parts.train.user_ids, parts.train.item_ids, strict=True))
    test_pairs = set(zip(parts.test.user_ids, parts.test.item_ids, strict=True))
    assert not train_pairs & test_pairs and len(train_pairs) + len(test_pairs) == len(merge_pairs(data))
    assert set(parts.test.user_ids) <= set(parts.train.user_ids)  # everyone keeps something to learn from
    assert 0.15 < len(test_pairs) / len(data) < 0.25


def test_cold_user_split_holds_out_whole_users(data):
    parts = split(data, cold="users", seed=0)
    assert not set(parts.train.user_ids) & set(parts.test.user_ids)
    assert len(set(parts.test.user_ids)) == round(0.2 * SIZE["users"])


def test_time_split_trains_on_the_past_only():
    data = InteractionData(
        user_ids=["a", "a", "b", "b", "a", "b", "a", "b", "a", "b"],
        item_ids=["1", "2", "1", "3", "3", "2", "4", "4", "1", "5"],
        weights=[1, 1, 1, 1, 1, 1, 1, 1, 1, -1],
        timestamps=[1, 2, 3, 4, 5, 6, 7, 8, 0.5, 9],
    )
    parts = split(data)
    assert parts.kind == "time"
    assert parts.train.timestamps.max() < parts.test.timestamps.min()
    assert (parts.test.weights > 0).all()  # a negative is never a test target
    assert sorted(parts.test.item_ids) == ["4", "4"]
    assert len(merge_pairs(data)) == 9 and merge_pairs(data).timestamps[0] == 0.5  # (a, 1) twice: earliest kept


def test_metrics_exclude_training_items_and_count_ties_as_half():
    scores = np.array([[5.0, 4.0, 3.0, 2.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]])
    train = np.array([[1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]], dtype=bool)
    test = np.array([[0, 1, 0, 0, 0, 1], [1, 0, 0, 0, 0, 0]], dtype=bool)
    m = ranking_metrics(scores, train, test)
    assert m["precision_at_5"][0] == 0.4  # items 1-5 once item 0 (trained on) is out: both positives
    assert m["recall_at_10"][0] == 1.0 and m["precision_at_10"][0] == 0.2
    assert m["auc"][0] == pytest.approx(0.5)  # one positive above all 3 negatives, one below all
    assert m["auc"][1] == pytest.approx(0.5)


def test_a_split_without_test_data_is_an_error():
    with pytest.raises(ValueError, match="no test interactions"):
        evaluate(InteractionData(["a", "b"], ["1", "2"], [1, 1]), epochs=1)
