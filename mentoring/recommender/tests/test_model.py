from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from mentoring.recommender.data import InteractionData
from mentoring.recommender.model import ItemMatrix, Recommender


def candidates(data, ids=None):
    ids = ids if ids is not None else sorted(data.item_features)
    return [(i, data.item_features[i]) for i in ids]


def test_scores_equal_lightfm_predict_for_known_users_and_items(fitted, small_data):
    """The numpy serving path computes exactly what LightFM's own predict does."""
    user = small_data.user_ids[0]
    items = candidates(small_data, small_data.items()[:25])
    ours = fitted.score(user, small_data.user_features[user], items)

    def rows(index_names, entities):
        index = {name: n for n, name in enumerate(index_names)}
        matrix = sparse.lil_matrix((len(entities), len(index_names)), dtype=np.float32)
        for r, (entity_id, features) in enumerate(entities):
            cols = [index[f"id:{entity_id}"], *(index[f] for f in features if f in index)]
            matrix[r, cols] = 1.0 / len(cols)
        return matrix.tocsr()

    user_matrix = rows(fitted.user_feature_names, [(user, small_data.user_features[user])])
    item_matrix = rows(fitted.item_feature_names, items)
    theirs = fitted.lightfm.predict(
        np.zeros(len(items), dtype=np.int32),
        np.arange(len(items), dtype=np.int32),
        user_features=user_matrix,
        item_features=item_matrix,
    )
    # LightFM's predict leaves out nothing but adds the user bias too: a constant, so compare exactly.
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("k", [1, 5, 10, 79, 80, 200])
def test_top_k_equals_the_brute_force_ranking(fitted, small_data, k):
    user = small_data.user_ids[3]
    items = candidates(small_data)
    scores = fitted.score(user, small_data.user_features[user], items)
    brute = [items[n][0] for n in sorted(range(len(items)), key=lambda n: -scores[n])][:k]
    top = fitted.top_k(user, small_data.user_features[user], items, k)
    assert [item_id for item_id, _ in top] == brute
    assert [s for _, s in top] == sorted((s for _, s in top), reverse=True)
    assert fitted.top_k(user, [], items, 0) == []


def test_item_matrix_can_be_reused_and_matches_the_list_form(fitted, small_data):
    items = candidates(small_data)
    matrix = fitted.item_matrix(items)
    assert isinstance(matrix, ItemMatrix) and len(matrix) == len(items)
    user = small_data.user_ids[5]
    features = small_data.user_features[user]
    np.testing.assert_array_equal(fitted.score(user, features, matrix), fitted.score(user, features, items))
    assert fitted.top_k(user, features, matrix, 5) == fitted.top_k(user, features, items, 5)


def test_a_new_learner_with_only_interests_gets_items_sharing_them(fitted, small_data):
    items = candidates(small_data)
    scores = fitted.score(None, ["skill:python", "role:learner"], items)
    python = np.array(["skill:python" in features for _, features in items])
    assert 0.05 < python.mean() < 0.4  # the base rate the ranking must beat
    assert scores[python].mean() > scores[~python].mean()
    top = fitted.top_k(None, ["skill:python", "role:learner"], items, 10)
    share = np.mean(["skill:python" in small_data.item_features[item_id] for item_id, _ in top])
    assert share >= 0.6


def test_a_new_item_is_scored_from_its_features(fitted, small_data):
    learner = next(u for u, f in small_data.user_features.items() if f[0] == "skill:python" and fitted.knows_user(u))
    fresh = [("new-python", ["skill:python", "level:beginner"]), ("new-design", ["skill:ux-design", "level:beginner"])]
    scores = fitted.score(learner, small_data.user_features[learner], fresh)
    assert not fitted.knows_item("new-python")
    assert scores[0] > scores[1]


def test_unknown_feature_names_are_ignored(fitted, small_data):
    items = candidates(small_data)
    plain = fitted.score(None, [], items)
    np.testing.assert_array_equal(fitted.score(None, ["skill:cobol", "id:u1"], items), plain)
    np.testing.assert_array_equal(fitted.score("nobody", [], items), plain)
    np.testing.assert_array_equal(
        fitted.score(None, [], [("i0", ["nonsense:1", *small_data.item_features["i0"]])]),
        fitted.score(None, [], [("i0", small_data.item_features["i0"])]),
    )


def test_explanations_add_up_and_name_the_shared_interest(fitted, small_data):
    features = ["skill:python", "role:learner"]
    python_items = [(i, f) for i, f in candidates(small_data) if "skill:python" in f]
    firsts = []
    for _, item_features in python_items:
        drivers = fitted.explain(None, features, item_features)
        assert [f for f, _ in drivers] and all(not f.startswith("id:") for f, _ in drivers)
        assert [c for _, c in drivers] == sorted((c for _, c in drivers), reverse=True)
        firsts.append(drivers[0][0])
        # Without the item's identity, the score is the explained part plus the feature biases.
        bias = np.mean([fitted.item_biases[fitted.item_feature_names.index(f)] for f, _ in drivers])
        _, user_bias = fitted.user_vector(None, features)
        score = fitted.score(None, features, [(None, item_features)])[0]
        assert score == pytest.approx(sum(c for _, c in drivers) + bias + user_bias, abs=1e-4)
    assert firsts.count("skill:python") / len(firsts) >= 0.7
    assert fitted.explain(None, features, ["skill:python"], limit=1)[0][0] == "skill:python"
    assert fitted.explain(None, features, ["unknown:1"]) == []


def test_negative_interactions_are_left_out_of_warp_and_learned_by_logistic(small_data):
    data = InteractionData(
        user_ids=[*small_data.user_ids[:400], "u1", "u2"],
        item_ids=[*small_data.item_ids[:400], "i0", "i1"],
        weights=[*small_data.weights[:400], -1.0, -0.5],
        user_features=small_data.user_features,
        item_features=small_data.item_features,
    )
    warp = Recommender().fit(data, epochs=2, components=8, threads=1)
    logistic = Recommender().fit(data, loss="logistic", epochs=2, components=8, threads=1)
    assert np.isfinite(logistic.score("u1", [], candidates(small_data))).all()
    assert warp.params["loss"] == "warp" and logistic.params["loss"] == "logistic"
    with pytest.raises(ValueError, match="no interactions"):
        Recommender().fit(InteractionData(["u1"], ["i1"], [-1.0]))


def test_pure_collaborative_filtering_has_identity_features_only(small_data):
    pure = Recommender().fit(small_data, use_features=False, epochs=1, components=4, threads=1)
    assert all(name.startswith("id:") for name in pure.user_feature_names + pure.item_feature_names)


def test_an_unfitted_model_says_so():
    with pytest.raises(RuntimeError, match="not fitted"):
        Recommender().score(None, [], [("i1", [])])


def test_the_item_cache_gives_the_same_answers_when_hit_grown_and_reset(small_data):
    model = Recommender().fit(small_data, epochs=1, components=4, threads=1)
    items = candidates(small_data) + [("new", ["skill:python"]), ("new", ["skill:python"])]
    first = model.item_matrix(items)
    np.testing.assert_array_equal(first.vectors[-1], first.vectors[-2])
    model.ITEM_CACHE_SIZE = 100  # forces a reset on every call from now on
    again = model.item_matrix(items)
    fresh = Recommender.from_arrays(
        user_feature_names=model.user_feature_names,
        item_feature_names=model.item_feature_names,
        user_embeddings=model.user_embeddings,
        user_biases=model.user_biases,
        item_embeddings=model.item_embeddings,
        item_biases=model.item_biases,
    ).item_matrix(items)
    for matrix in (again, fresh):
        np.testing.assert_allclose(matrix.vectors, first.vectors, rtol=1e-6)
        np.testing.assert_allclose(matrix.biases, first.biases, rtol=1e-6)
    assert model.item_matrix(items[:5]).ids == [i for i, _ in items[:5]]
