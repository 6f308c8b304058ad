"""The item-item half of the hybrid: the neighbourhood, the blend, its choice on validation data, its
storage, and what the evaluation reports of it (real LightFM, real scipy)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mentoring.recommender import artifact, evaluate, tuning
from mentoring.recommender.data import InteractionData, synthetic
from mentoring.recommender.model import Recommender
from mentoring.recommender.neighbours import Neighbours, blend, choose


def co_booked() -> InteractionData:
    """Two crowds: u0..u9 book a, b, c; u10..u19 book x, y, z. ``me`` booked a and b only."""
    pairs = [(f"u{n}", item) for n in range(10) for item in "abc"]
    pairs += [(f"u{n}", item) for n in range(10, 20) for item in "xyz"]
    pairs += [("me", "a"), ("me", "b")]
    return InteractionData([u for u, _ in pairs], [i for _, i in pairs], np.ones(len(pairs)))


def test_the_neighbourhood_finds_what_the_same_people_booked():
    near = Neighbours.of(co_booked(), k=2, weight=1.0)
    where = near.columns(["c", "x", "new"])
    assert where[0].tolist() == [0, 1]  # "new": nobody booked it, out of reach
    scores = near.scores(["me", "stranger", None], where, 3)
    assert scores[0, 0] > 0 and scores[0, 1] == 0 and scores[0, 2] == 0  # c is near a and b; x is not
    assert not scores[1].any() and not scores[2].any()  # unknown users get nothing
    assert Neighbours.of(co_booked(), k=2, weight=0.0).scores(["me"], where, 3) is None
    assert near.scores(["stranger"], where, 3) is None
    # One user's blend, computed from the candidates in reach only, is the dense blend.
    base = np.array([0.5, 0.4, 0.3], dtype=np.float32)
    assert np.allclose(near.add_to(base.copy(), "me", where), blend(base, scores[0], 1.0), atol=1e-6)
    assert np.array_equal(near.add_to(base.copy(), "stranger", where), base)


def test_the_blend_standardises_both_terms_and_leaves_lightfm_alone_without_a_signal():
    base = np.array([3.0, 2.0, 1.0, 0.0], dtype=np.float32)
    assert blend(base, None, 1.0) is base
    assert blend(base, np.zeros(4), 1.0) is base  # nothing varies: the LightFM order stands
    assert blend(base, np.array([0, 0, 0, 9.0]), 0.0) is base
    mixed = blend(base, np.array([0, 0, 0, 9.0]), 2.0)
    assert mixed.dtype == np.float32 and int(np.argmax(mixed)) == 3  # weighted enough, the neighbour wins
    assert np.argsort(-blend(base * 100, np.array([0, 0, 0, 9.0]), 0.25))[0] == 0  # scale-free: weight decides
    rows = blend(np.vstack([base, base]), np.vstack([np.zeros(4), [0, 0, 0, 9.0]]), 2.0)
    assert list(np.argsort(-rows[0])) == [0, 1, 2, 3] and int(np.argmax(rows[1])) == 3  # per user


def test_a_model_with_neighbours_lifts_what_similar_learners_booked(small_data):
    model = Recommender().fit(small_data, epochs=5, components=8, threads=1, seed=3)
    user = small_data.user_ids[0]
    items = [(i, small_data.item_features.get(i, [])) for i in sorted(small_data.item_features)]
    alone = model.score(user, small_data.user_features[user], items)
    new_learner = model.score(None, ["skill:0"], items)
    model.neighbours = Neighbours.of(small_data, k=20, weight=5.0)
    mixed = model.score(user, small_data.user_features[user], items)
    extra = model.neighbours.scores([user], model.neighbours.columns([i for i, _ in items]), len(items))[0]
    assert np.allclose(mixed, blend(alone, extra, 5.0), atol=1e-5)
    # A new learner (features only, no history) keeps LightFM's scores exactly.
    assert np.array_equal(model.score(None, ["skill:0"], items), new_learner)
    top = model.top_k(user, small_data.user_features[user], items, k=3)
    assert [i for i, _ in top] == [items[n][0] for n in np.argsort(-mixed, kind="stable")[:3]]


def test_the_choice_on_validation_is_never_worse_than_lightfm_alone_and_is_stored():
    data = synthetic(600, 120, seed=4)
    parts = evaluate.split(data, protocol="per-user", holdout=1, seed=4)
    inner, validation = evaluate.validation_split(parts.train, holdout=1, seed=4)
    probe = Recommender().fit(inner, epochs=8, components=16, threads=1, seed=4)
    chosen = choose(probe, inner, validation, seed=4)
    print(
        f"\n[neighbours] validation NDCG@10: LightFM alone {chosen['validation_ndcg_at_10_alone']}, "
        f"chosen k={chosen['k']} weight={chosen['weight']}: {chosen['validation_ndcg_at_10']} "
        f"({chosen['validation_users']} users)"
    )
    assert chosen["validation_users"] >= 100
    assert chosen["validation_ndcg_at_10"] >= chosen["validation_ndcg_at_10_alone"]
    assert chosen["k"] in (50, 200) and chosen["weight"] in (0.0, 0.25, 0.5, 1.0, 2.0)
    # With weight 0 forced, the choice is LightFM alone, with its own figure.
    alone = choose(probe, inner, validation, weight_choices=(0.0,), seed=4)
    assert alone["weight"] == 0.0 and alone["validation_ndcg_at_10"] == alone["validation_ndcg_at_10_alone"]

    model = tuning.fit_early_stopped(
        inner, validation, parts.train, epochs=10, components=16, threads=1, seed=4, patience=2
    )
    assert model.params["neighbours"]["validation_users"] >= 100
    assert (model.neighbours is not None) == (model.params["neighbours"]["weight"] > 0)
    plain = tuning.fit_early_stopped(
        inner, validation, parts.train, epochs=10, components=16, threads=1, seed=4, patience=2, with_neighbours=False
    )
    assert plain.neighbours is None and "neighbours" not in plain.params


def test_neighbours_survive_the_artifact_and_damage_is_refused(tmp_path, small_data):
    model = Recommender().fit(small_data, epochs=3, components=8, threads=1, seed=2)
    model.neighbours = Neighbours.of(small_data, k=10, weight=0.5)
    version = artifact.save(model, tmp_path)
    loaded = artifact.load(tmp_path, version)
    items = [(i, small_data.item_features.get(i, [])) for i in sorted(small_data.item_features)]
    for user in small_data.users()[:5]:
        features = small_data.user_features[user]
        assert np.allclose(loaded.score(user, features, items), model.score(user, features, items), atol=1e-5)
    assert loaded.neighbours.k == 10 and loaded.neighbours.weight == 0.5

    npz, meta = artifact.paths(tmp_path, version)
    metadata = json.loads(meta.read_text())
    for bad in ({"k": 10, "weight": -1}, {"k": "10", "weight": 0.5}, {"k": 10, "weight": True}, [1]):
        meta.write_text(json.dumps({**metadata, "neighbours": bad}))
        with pytest.raises(artifact.ArtifactError, match="neighbourhood settings"):
            artifact.load(tmp_path, version)
    # Matrices that do not fit their ids are refused with a reason, not an IndexError at serving time.
    with np.load(npz) as stored:
        arrays = dict(stored)
    arrays["similarity_indices"] = arrays["similarity_indices"] + 10_000
    np.savez(npz, **arrays)
    meta.write_text(json.dumps({**metadata, "npz_sha256": artifact._sha256(npz)}))
    with pytest.raises(artifact.ArtifactError, match="similarity matrix does not fit"):
        artifact.load(tmp_path, version)
    # An artifact without neighbours (written before them) still loads, as LightFM alone.
    model.neighbours = None
    assert artifact.load(tmp_path, artifact.save(model, tmp_path)).neighbours is None


def test_the_evaluation_reports_the_blend_and_lightfm_alone_beside_it():
    data = synthetic(500, 100, seed=5)
    report = evaluate.evaluate(
        data,
        protocol="per-user",
        seed=5,
        epochs=8,
        components=16,
        patience=2,
        threads=1,
        models=("lightfm_hybrid", "hybrid_without_neighbours", "item_knn", "popularity"),
        peer_grids={"item_knn": {"k": (50,)}},
        resamples=200,
    )
    chosen = report["tuning"]["lightfm_hybrid"]["params"]["neighbours"]
    print(f"\n[neighbours] evaluation: chosen {chosen}; models {sorted(report['models'])}")
    assert chosen["validation_ndcg_at_10"] >= chosen["validation_ndcg_at_10_alone"]
    assert ("hybrid_without_neighbours" in report["models"]) == (chosen["weight"] > 0)
    assert report["comparison"]["baseline"] in ("item_knn", "popularity")


def test_one_users_reach_from_the_raw_arrays_is_the_sparse_product(small_data):
    near = Neighbours.of(small_data, k=15, weight=1.0)
    for user, row in list(near.users.items())[:20]:
        assert np.allclose(near._reach_of(row), near.reach([user])[0], atol=1e-5)
