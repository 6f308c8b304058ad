"""Quality on synthetic data with planted structure (fixed seeds; the bounds are conservative: the
benchmark and ``evaluate_recommender`` report the real figures)."""

from __future__ import annotations

import numpy as np
import pytest

from mentoring.recommender import peers
from mentoring.recommender.data import InteractionData, synthetic
from mentoring.recommender.evaluate import (
    evaluate,
    merge_pairs,
    paired_bootstrap,
    per_user_split,
    ranking_metrics,
    split,
    validation_split,
)
from mentoring.recommender.model import Recommender

SIZE = {"users": 600, "items": 150}


@pytest.fixture(scope="module")
def data():
    return synthetic(SIZE["users"], SIZE["items"], seed=3)


LIGHTFM_AND_BASELINES = ("lightfm_hybrid", "lightfm_pure", "popularity", "random", "oracle")
# Small peer grids keep the tests quick; the command runs the full ones (peers.GRIDS).
SMALL_GRIDS = {
    "als": {"factors": (16,), "regularization": (0.1, 1.0), "alpha": (1.0,), "iterations": (10,)},
    "bpr": {"factors": (16,), "learning_rate": (0.05,), "regularization": (0.01,), "iterations": (50,)},
    "item_knn": {"k": (10, 50)},
}


@pytest.fixture(scope="module")
def warm(data):
    return evaluate(data, seed=3, threads=1, epochs=20, patience=0, models=LIGHTFM_AND_BASELINES)


@pytest.fixture(scope="module")
def cold_items(data):
    return evaluate(
        data,
        seed=3,
        threads=1,
        cold="items",
        epochs=20,
        patience=0,
        models=("lightfm_hybrid", "lightfm_pure", "random", "oracle"),
    )


@pytest.fixture(scope="module")
def per_user(data):
    return evaluate(data, protocol="per-user", seed=3, threads=1, peer_grids=SMALL_GRIDS, resamples=500)


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


# --------------------------------------------------------------------------- the per-user protocol
def timed_data():
    """Users u0..u9 with 1..10 positives at times 0, 1, 2, ...; u0 to u3 each also have one negative."""
    users, items, weights, times = [], [], [], []
    for u in range(10):
        for n in range(u + 1):
            users.append(f"u{u}")
            items.append(f"i{(3 * u + n) % 12}")
            weights.append(1.0)
            times.append(float(100 * u + n))
        if u < 4:
            users.append(f"u{u}")
            items.append("disliked")
            weights.append(-1.0)
            times.append(1e6)  # the latest of all: never a test target
    return InteractionData(users, items, weights, timestamps=times)


@pytest.mark.parametrize("holdout", [1, 2, 3])
def test_per_user_split_holds_out_each_eligible_users_latest_n(holdout):
    data = timed_data()
    parts = per_user_split(data, holdout=holdout, seed=0)
    held = {}
    for user, when in zip(parts.test.user_ids, parts.test.timestamps, strict=True):
        held.setdefault(user, []).append(when)
    eligible = {f"u{u}" for u in range(10) if u + 1 >= 2 * holdout}
    print(f"\n[per-user N={holdout}] test users {sorted(held)}, test rows {len(parts.test)}, train {len(parts.train)}")
    assert set(held) == eligible  # users with fewer than 2N positives are not test users
    assert all(len(times) == holdout for times in held.values())
    for user, times in held.items():  # the latest N of the user's positives
        u = int(user[1:])
        assert sorted(times) == [100 * u + n for n in range(u + 1 - holdout, u + 1)]
    assert (parts.test.weights > 0).all()
    train_pairs = set(zip(parts.train.user_ids, parts.train.item_ids, strict=True))
    test_pairs = set(zip(parts.test.user_ids, parts.test.item_ids, strict=True))
    assert not train_pairs & test_pairs
    assert len(train_pairs) + len(test_pairs) == len(merge_pairs(data))  # nothing lost either


def test_per_user_split_without_timestamps_is_a_seeded_random_choice(data):
    first, again, other = (per_user_split(data, holdout=2, seed=s) for s in (0, 0, 1))
    per_user = {}
    for user in first.test.user_ids:
        per_user[user] = per_user.get(user, 0) + 1
    positives = {}
    for user in merge_pairs(data).user_ids:
        positives[user] = positives.get(user, 0) + 1
    print(f"\n[per-user N=2, synthetic] {len(per_user)} test users of {len(positives)}, {len(first.test)} held out")
    assert set(per_user.values()) == {2}
    assert set(per_user) == {u for u, n in positives.items() if n >= 4}
    assert first.test.item_ids == again.test.item_ids and first.test.item_ids != other.test.item_ids


def test_validation_carve_out_never_sees_the_test_pairs(data):
    parts = split(data, protocol="per-user", holdout=1, seed=5)
    inner, validation = validation_split(parts.train, holdout=1, seed=5)
    test_pairs = set(zip(parts.test.user_ids, parts.test.item_ids, strict=True))
    train_pairs = set(zip(parts.train.user_ids, parts.train.item_ids, strict=True))
    inner_pairs = set(zip(inner.user_ids, inner.item_ids, strict=True))
    validation_pairs = set(zip(validation.user_ids, validation.item_ids, strict=True))
    print(
        f"\n[carve-out] test {len(test_pairs)}, train {len(train_pairs)} = inner {len(inner_pairs)} "
        f"+ validation {len(validation_pairs)}"
    )
    assert not test_pairs & (inner_pairs | validation_pairs)
    assert inner_pairs | validation_pairs == train_pairs and not inner_pairs & validation_pairs
    assert len(validation_pairs) > 0.8 * len(set(parts.train.user_ids))


def test_a_hand_computed_ranking_gives_its_ndcg_and_map():
    # One user, five candidates scored 5..1 (ranks 1..5); item 0 was trained on, so the ranking is
    # items 1, 2, 3, 4. Positives: items 1 and 3 (ranks 1 and 3), and item 4 (rank 4) outside the top 3.
    scores = np.array([[9.0, 5.0, 4.0, 3.0, 2.0]])
    train = np.array([[1, 0, 0, 0, 0]], dtype=bool)
    test = np.array([[0, 1, 0, 1, 1]], dtype=bool)
    m = ranking_metrics(scores, train, test, k=3)
    dcg = 1 / np.log2(2) + 1 / np.log2(4)
    idcg = 1 / np.log2(2) + 1 / np.log2(3) + 1 / np.log2(4)
    ap = (1 / 1 + 2 / 3) / 3  # precision at each hit, over min(3 positives, k=3)
    print(
        f"\n[hand] ndcg@3 {m['ndcg_at_3'][0]:.4f} (by hand {dcg / idcg:.4f}), map@3 {m['map_at_3'][0]:.4f} ({ap:.4f})"
    )
    assert m["ndcg_at_3"][0] == pytest.approx(dcg / idcg)  # 1.5 / 2.131 = 0.7039
    assert m["map_at_3"][0] == pytest.approx(ap)  # 0.5556
    assert m["precision_at_3"][0] == pytest.approx(2 / 3) and m["recall_at_3"][0] == pytest.approx(2 / 3)
    assert m["auc"][0] == pytest.approx(1 / 3)  # 3 positives x 1 negative (item 2): only item 1 above it
    perfect = ranking_metrics(np.array([[0.0, 5.0, 1.0, 4.0, 3.0]]), train, test, k=3)
    assert perfect["ndcg_at_3"][0] == pytest.approx(1.0) and perfect["map_at_3"][0] == pytest.approx(1.0)


def test_the_bootstrap_interval_covers_a_planted_difference():
    rng = np.random.default_rng(0)
    base = rng.random(400)
    small = paired_bootstrap(base + 0.02 + rng.normal(0, 0.2, 400), base, resamples=2000, seed=1)
    large = paired_bootstrap(base + 0.3 + rng.normal(0, 0.2, 400), base, resamples=2000, seed=1)
    none = paired_bootstrap(base + rng.normal(0, 0.2, 400), base, resamples=2000, seed=1)
    print(f"\n[bootstrap] planted 0.02: {small}\n[bootstrap] planted 0.3: {large}\n[bootstrap] planted 0: {none}")
    assert small["low"] <= 0.02 <= small["high"]
    assert large["low"] <= 0.3 <= large["high"] and large["low"] > 0  # a large difference excludes 0
    assert none["low"] <= 0 <= none["high"]
    assert large["high"] - large["low"] < 0.06  # about 4 standard errors of 0.2/sqrt(400)
    with_nan = paired_bootstrap(np.array([1.0, np.nan, 3.0]), np.array([0.0, 1.0, 1.0]), resamples=100)
    assert with_nan["users"] == 2 and with_nan["difference"] == pytest.approx(1.5)
    # Coverage over many planted experiments: the 95% interval holds the truth about 95% of the time.
    covered = sum(
        (lambda c: c["low"] <= 0.05 <= c["high"])(
            paired_bootstrap(0.05 + rng.normal(0, 0.3, 200), np.zeros(200), resamples=400, seed=n)
        )
        for n in range(100)
    )
    print(f"[bootstrap] planted 0.05 covered in {covered}/100 experiments")
    assert 88 <= covered <= 100


def test_item_knn_ranks_co_occurring_items_first():
    # Items a and b always go together, c and d too; a user with only a should get b first.
    users = [f"u{n}" for n in range(6) for _ in range(2)] + ["x"]
    items = ["a", "b"] * 3 + ["c", "d"] * 3 + ["a"]
    matrix = peers.Matrix.of(InteractionData(users, items, np.ones(len(users))))
    peer = peers.Peer("item_knn", {"k": 2}).fit(matrix)
    rows, known = matrix.rows(["x", "nobody"])
    scores = peer.scores(rows)
    order = [list(matrix.items)[n] for n in np.argsort(-scores[0], kind="stable")]
    print(f"\n[item-kNN] scores for x: {dict(zip(matrix.items, scores[0].round(3), strict=True))}")
    assert order[0] == "b"  # an item is not its own neighbour
    assert scores[0, matrix.items["b"]] > 0 and scores[0, matrix.items["c"]] == 0
    assert known.tolist() == [True, False]


def test_per_user_report_has_the_peers_the_split_sizes_and_the_comparison(per_user):
    models = per_user["models"]
    print(
        "\n[per-user, synthetic 600x150] "
        + ", ".join(
            f"{name} p@10 {m['precision_at_10']:.4f} ndcg@10 {m['ndcg_at_10']:.4f}" for name, m in models.items()
        )
    )
    print(f"[per-user] sizes {per_user['sizes']}\n[per-user] comparison {per_user['comparison']}")
    near = per_user["tuning"]["lightfm_hybrid"]["params"]["neighbours"]
    print(f"[per-user] the hybrid's neighbourhood: {near}")
    assert near["validation_ndcg_at_10"] >= near["validation_ndcg_at_10_alone"]
    assert ("hybrid_without_neighbours" in models) == (near["weight"] > 0)
    assert set(models) - {"hybrid_without_neighbours"} == {
        "lightfm_hybrid", "lightfm_pure", "als", "bpr", "item_knn", "popularity", "random", "oracle"
    }  # fmt: skip
    for metrics in models.values():
        assert set(metrics) == {
            "precision_at_5", "precision_at_10", "recall_at_10", "ndcg_at_10", "map_at_10", "auc", "coverage_at_10"
        }  # fmt: skip
        assert all(0 <= value <= 1 for value in metrics.values())
    sizes = per_user["sizes"]
    assert per_user["split"] == "per-user" and sizes["test_interactions"] == sizes["test_users"] == SIZE["users"]
    assert sizes["train_interactions"] + sizes["test_interactions"] == len(merge_pairs(synthetic(**SIZE, seed=3)))
    assert models["popularity"]["coverage_at_10"] < models["random"]["coverage_at_10"] == 1.0
    for name in ("als", "bpr", "item_knn"):
        tuned = per_user["tuning"][name]
        assert tuned["tried"] == np.prod([len(v) for v in SMALL_GRIDS[name].values()])
        assert set(tuned["params"]) == set(SMALL_GRIDS[name])
        assert models[name]["precision_at_10"] > 2 * models["random"]["precision_at_10"]  # they really learn
    comparison = per_user["comparison"]
    own = ("lightfm_hybrid", "hybrid_without_neighbours", "oracle")
    best = max((n for n in models if n not in own), key=lambda n: models[n]["ndcg_at_10"])
    assert comparison["baseline"] == best
    difference = models["lightfm_hybrid"]["ndcg_at_10"] - models[best]["ndcg_at_10"]
    assert comparison["ndcg_at_10"]["difference"] == pytest.approx(difference, abs=1e-3)
    assert comparison["ndcg_at_10"]["low"] <= comparison["ndcg_at_10"]["difference"] <= comparison["ndcg_at_10"]["high"]
    assert per_user["tuning"]["lightfm_hybrid"]["early_stopping"]["best_epoch"] >= 1
    peer = per_user["comparison_peer"]
    assert peer["baseline"] == max(("als", "bpr", "item_knn"), key=lambda n: models[n]["ndcg_at_10"])
    difference = models["lightfm_hybrid"]["ndcg_at_10"] - models[peer["baseline"]]["ndcg_at_10"]
    assert peer["ndcg_at_10"]["difference"] == pytest.approx(difference, abs=1e-3)


def test_peers_are_left_out_of_the_cold_splits_with_a_reason(data):
    report = evaluate(data, cold="users", seed=3, threads=1, epochs=2, patience=0, models=("lightfm_hybrid", "als"))
    print(f"\n[cold-users] omitted {report['omitted']}")
    assert set(report["models"]) == {"lightfm_hybrid"}
    assert "without training interactions cannot be ranked" in report["omitted"]["als"]


def test_early_stopping_keeps_the_best_epoch_and_stops_after_patience(data):
    parts = split(data, protocol="per-user", seed=2)
    inner, validation = validation_split(parts.train, seed=2)
    model = Recommender().fit(inner, validation=validation, epochs=60, patience=2, learning_rate=0.3, threads=1)
    stopped = model.params["early_stopping"]
    print(f"\n[early stopping] {stopped}")
    assert model.params["epochs"] == stopped["best_epoch"]
    assert stopped["epochs_run"] == 60 or stopped["epochs_run"] == stopped["best_epoch"] + 2
    assert stopped["epochs_run"] < 60  # a high learning rate overfits this small set well before 60 epochs
    assert stopped["validation_users"] == len(set(validation.user_ids))


def test_early_stopping_counts_only_validation_users_it_can_measure(data):
    """Held-out items the training never saw cannot be ranked: such users do not make the 100 a
    validation needs, and with too few the epochs stay fixed (never 1 epoch chosen on nothing)."""
    from mentoring.recommender import tuning
    from mentoring.recommender.data import InteractionData

    parts = split(data, protocol="per-user", seed=2)
    inner, validation = validation_split(parts.train, seed=2)
    unseen = InteractionData(  # the same users, each with an item nobody trained on
        user_ids=list(validation.user_ids),
        item_ids=[f"new-{n}" for n in range(len(validation))],
        weights=validation.weights,
        user_features=validation.user_features,
        item_features=validation.item_features,
    )
    model = Recommender().fit(inner, validation=unseen, epochs=30, threads=1)
    stopped = model.params["early_stopping"]
    assert stopped["validation_users"] == 0 and "skipped" in stopped and model.params["epochs"] == 30
    final = tuning.fit_early_stopped(inner, unseen, parts.train, epochs=30, threads=1)
    skipped = final.params["early_stopping"]
    print(f"\n[early stopping] unmeasurable validation: {stopped['skipped']}; final fit {skipped}")
    assert skipped["validation_users"] == 0 and skipped["fixed_epochs"] == tuning.FIXED_EPOCHS


def test_search_tries_settings_within_its_budget_and_keeps_the_best(data):
    from mentoring.recommender import tuning

    parts = split(data, protocol="per-user", seed=4)
    inner, validation = validation_split(parts.train, seed=4)
    base = {"loss": "warp", "components": 8, "epochs": 15, "learning_rate": 0.1, "threads": 1}
    space = {"components": (4, 8, 16), "item_alpha": (0.0, 1e-4), "user_alpha": (0.0, 1e-4)}
    found = tuning.search(inner, validation, budget_seconds=4, base=base, patience=2, seed=4, space=space)
    trials = found["trials"]
    print(
        f"\n[search 4 s] {len(trials)} trials in {found['seconds']}s; best {found['params']} "
        f"NDCG@10 {found['validation_ndcg_at_10']}; all: {[t['validation_ndcg_at_10'] for t in trials]}"
    )
    assert trials[0]["params"]["components"] == 8  # the base settings first
    tried = [tuple(t["params"][name] for name in space) for t in trials]
    assert len(trials) >= 2 and len(set(tried)) == len(tried) <= 12  # each grid point once at most
    assert found["seconds"] < 4 + max(t["seconds"] for t in trials)  # stops within about one trial of the budget
    assert found["validation_ndcg_at_10"] == max(t["validation_ndcg_at_10"] for t in trials)
    assert found["params"]["epochs"] == found["early_stopping"]["best_epoch"] <= 15
