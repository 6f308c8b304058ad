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


# --------------------------------------------------------------------------- serving at catalogue size
def own_copy(model: Recommender) -> Recommender:
    """The same model with its own item store (the shared fixture's store stays untouched)."""
    return Recommender.from_arrays(
        user_feature_names=model.user_feature_names,
        item_feature_names=model.item_feature_names,
        user_embeddings=model.user_embeddings,
        user_biases=model.user_biases,
        item_embeddings=model.item_embeddings,
        item_biases=model.item_biases,
    )


def catalogue(data, count: int, prefix: str = "new") -> list[tuple[str, list[str]]]:
    """The trained items, then new ids copying their features (as ``bench/recommend.py`` does)."""
    known = candidates(data)
    return known[:count] + [(f"{prefix}{n}", known[n % len(known)][1]) for n in range(count - len(known))]


def test_top_k_over_100001_listed_candidates_matches_a_prebuilt_matrix_and_never_rebuilds(fitted, small_data):
    import time

    items = catalogue(small_data, 100_001)
    model = own_copy(fitted)
    prebuilt = own_copy(fitted).item_matrix(items)
    user = small_data.user_ids[7]
    features = small_data.user_features[user]
    scores = own_copy(fitted).score(user, features, prebuilt)
    brute = sorted(range(len(items)), key=lambda n: -scores[n])[:10]  # Python's sort is stable: ties by position

    timings = []
    for _ in range(4):
        started = time.perf_counter()
        top = model.top_k(user, features, items, 10)
        timings.append((time.perf_counter() - started) * 1000)
        assert top == model.top_k(user, features, prebuilt, 10)
        assert [item_id for item_id, _ in top] == [items[n][0] for n in brute]
        info = model.item_cache_info()
        assert info.built == len(items)  # each representation computed once, on the first call
        assert info.evictions == 0 and info.uncached_calls == 0
        assert info.rows == len(items) <= info.capacity
    started = time.perf_counter()
    model.top_k(user, features, prebuilt, 10)
    prebuilt_ms = (time.perf_counter() - started) * 1000
    print(
        f"\n[serving] top-10 of {len(items)} listed candidates: first call {timings[0]:.0f} ms, then "
        f"{', '.join(f'{t:.0f}' for t in timings[1:])} ms (prebuilt matrix {prebuilt_ms:.2f} ms); {info}"
    )


def test_the_item_cache_stays_bounded_and_evicts_what_a_call_does_not_use(fitted, small_data):
    model = own_copy(fitted)
    model.ITEM_CACHE_SIZE = 1_000
    first, second = catalogue(small_data, 600, "a"), catalogue(small_data, 600, "b")
    reference = own_copy(fitted)

    def same_as_fresh(items):
        matrix, fresh = model.item_matrix(items), reference.item_matrix(items)
        np.testing.assert_allclose(matrix.vectors, fresh.vectors, rtol=1e-6)
        np.testing.assert_allclose(matrix.biases, fresh.biases, rtol=1e-6)
        assert matrix.ids == [item_id for item_id, _ in items]

    same_as_fresh(first)
    assert model.item_cache_info().rows == 600
    same_as_fresh(second)  # 600 + 520 new rows do not fit: what this call does not use goes
    info = model.item_cache_info()
    assert info.rows == 600 and info.evictions == 1 and info.evicted_rows == 520 and info.built == 1_120
    same_as_fresh(second[:300] + first[:80])  # all stored (the 80 trained items are in both lists)
    assert model.item_cache_info().built == 1_120
    too_many = catalogue(small_data, 1_500, "c")
    same_as_fresh(too_many)  # more than the store holds: computed, not stored
    info = model.item_cache_info()
    print(f"\n[serving] a store of {info.capacity} after four calls: {info}")
    assert info.uncached_calls == 1 and info.rows <= info.capacity
    assert info.rows == 600 and info.evictions == 1  # the store was left as it was
    assert len(model._store_vectors) <= max(1024, info.capacity)  # the arrays too, not just the count


@pytest.mark.parametrize("n", [1, 9, 10, 11, 500, 4_096, 5_000, 100_001])
def test_top_indices_equals_a_stable_sort_even_with_ties_and_sorted_scores(n):
    from mentoring.recommender.model import top_indices

    rng = np.random.default_rng(n)
    shapes = {
        "random": rng.standard_normal(n).astype(np.float32),
        "ties": rng.integers(0, 3, n).astype(np.float32),
        "ascending": np.arange(n, dtype=np.float32),
        "descending": -np.arange(n, dtype=np.float32),
        "constant": np.zeros(n, dtype=np.float32),
    }
    checked = 0
    for scores in shapes.values():
        for k in (0, 1, 10, 37, n - 1, n, n + 5):
            expected = sorted(range(n), key=lambda i: -scores[i])[: max(k, 0)]
            assert top_indices(scores, k).tolist() == expected
            checked += 1
    print(f"\n[serving] top_indices over {n} scores: {checked} cases equal a stable sort")


def test_a_large_product_runs_on_one_blas_thread_and_a_small_one_as_configured():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from mentoring.recommender.model import _one_blas_thread

    def blas_threads() -> list[int]:
        return [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]

    configured = blas_threads()
    with _one_blas_thread(100_001):
        large = blas_threads()
    with _one_blas_thread(1_000):
        small = blas_threads()
    print(f"\n[serving] BLAS threads: configured {configured}, 100,001 rows {large}, 1,000 rows {small}")
    assert configured and large == [1] * len(configured)
    assert small == configured and blas_threads() == configured  # and restored afterwards

    # Two large products overlapping (two threads): the first to finish does not lift the other's
    # limit, and the last restores the configured one (not the other's 1).
    first, second = _one_blas_thread(100_001), _one_blas_thread(100_001)
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    during = blas_threads()
    second.__exit__(None, None, None)
    print(f"[serving] overlapping: after the first ends {during}, after both {blas_threads()}")
    assert during == [1] * len(configured) and blas_threads() == configured


def test_identity_weight_gives_the_identity_its_share_in_training_serving_and_artifacts(small_data, tmp_path):
    """With identity_weight w a known item is w * its identity + (1 - w) * the mean of its side
    features, exactly as LightFM trained it; a new item is still the mean of its features."""
    from mentoring.recommender import artifact

    model = Recommender().fit(small_data, epochs=3, components=8, threads=1, seed=1, identity_weight=0.6)
    assert model.params["identity_weight"] == 0.6
    item_id = small_data.items()[0]
    features = small_data.item_features[item_id]
    index = {name: n for n, name in enumerate(model.item_feature_names)}
    side = [index[f] for f in features if f in index]
    assert side
    expected = 0.6 * model.item_embeddings[index[f"id:{item_id}"]] + 0.4 * model.item_embeddings[side].mean(axis=0)
    matrix = model.item_matrix([(item_id, features), ("new", features)])
    np.testing.assert_allclose(matrix.vectors[0], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(matrix.vectors[1], model.item_embeddings[side].mean(axis=0), rtol=1e-5, atol=1e-6)
    # LightFM's own representation of the trained item is the same.
    _, lightfm_items = model.lightfm.get_item_representations(
        sparse.csr_matrix(
            ([0.6, *[0.4 / len(side)] * len(side)], ([0] * (len(side) + 1), [index[f"id:{item_id}"], *side])),
            shape=(1, len(index)),
        )
    )
    np.testing.assert_allclose(matrix.vectors[0], lightfm_items[0], rtol=1e-5, atol=1e-6)
    # Users: the one-user and many-user paths agree, and a known user differs from the plain mean.
    user = small_data.user_ids[0]
    vector, bias = model.user_vector(user, small_data.user_features[user])
    vectors, biases = model.user_matrix([(user, small_data.user_features[user])])
    np.testing.assert_allclose(vectors[0], vector, rtol=1e-5, atol=1e-6)
    assert biases[0] == pytest.approx(bias, abs=1e-6)
    # Stored with the version and used again once loaded.
    version = artifact.save(model, tmp_path)
    loaded = artifact.load_latest(tmp_path)
    assert artifact.read_metadata(tmp_path, version)["params"]["identity_weight"] == 0.6
    items = candidates(small_data) + [("new", features)]
    np.testing.assert_array_equal(
        loaded.score(user, small_data.user_features[user], items),
        model.score(user, small_data.user_features[user], items),
    )
    plain = Recommender().fit(small_data, epochs=3, components=8, threads=1, seed=1)
    assert plain.params["identity_weight"] is None
    for bad in (0, 1, 1.5):
        with pytest.raises(ValueError, match="identity_weight"):
            Recommender().fit(small_data, epochs=1, identity_weight=bad)


def test_an_ensemble_scores_the_sum_of_its_members_and_round_trips(small_data, tmp_path):
    from mentoring.recommender import artifact

    options = {"epochs": 3, "components": 8, "threads": 1, "identity_weight": 0.7}
    members = [Recommender().fit(small_data, seed=seed, **options) for seed in (4, 5, 6)]
    ensemble = Recommender().fit(small_data, seed=4, ensemble=3, **options)
    assert ensemble.components == 24 and ensemble.params["ensemble"] == 3
    user = small_data.user_ids[2]
    items = candidates(small_data) + [("new", ["skill:python"])]
    for user_id, features in [(user, small_data.user_features[user]), (None, ["skill:python"])]:
        summed = sum(m.score(user_id, features, items) for m in members)
        np.testing.assert_allclose(ensemble.score(user_id, features, items), summed, rtol=1e-4, atol=1e-4)
    artifact.save(ensemble, tmp_path)
    loaded = artifact.load_latest(tmp_path)
    assert loaded.params["ensemble"] == 3
    np.testing.assert_array_equal(
        loaded.score(user, small_data.user_features[user], items),
        ensemble.score(user, small_data.user_features[user], items),
    )
    with pytest.raises(ValueError, match="ensemble"):
        Recommender().fit(small_data, epochs=1, ensemble=0)


def test_early_stopping_ndcg_from_ranks_equals_the_evaluation_metric():
    """The per-epoch NDCG@10 (each held-out item's rank, no sort) is the evaluation's NDCG@10 over the
    same users, including users with several held-out items and held-out items they also trained on."""
    from types import SimpleNamespace

    from mentoring.recommender.evaluate import ranking_metrics
    from mentoring.recommender.model import _Validation

    rng = np.random.default_rng(3)
    users, items, dim = 300, 120, 8
    trained = rng.random((users, items)) < 0.05
    targets = np.zeros((users, items), dtype=bool)
    targets[np.arange(users), rng.integers(0, items, users)] = True
    targets[np.arange(60), rng.integers(0, items, 60)] = True  # a second held-out item for some
    trained[np.arange(10), np.argmax(targets[:10], axis=1)] = True  # and some held out but trained on
    monitor = object.__new__(_Validation)
    monitor.targets, monitor.trained = targets, trained
    monitor.user_features = sparse.identity(users, format="csr", dtype=np.float32)
    monitor.item_features = sparse.identity(items, format="csr", dtype=np.float32)
    monitor.prepare()
    model = SimpleNamespace(
        user_embeddings=rng.standard_normal((users, dim)).astype(np.float32),
        item_embeddings=rng.standard_normal((items, dim)).astype(np.float32),
        item_biases=rng.standard_normal(items).astype(np.float32),
    )
    scores = model.user_embeddings @ model.item_embeddings.T + model.item_biases[None, :]
    expected = float(np.nanmean(ranking_metrics(scores, trained, targets, auc=False)["ndcg_at_10"]))
    got = monitor.ndcg(model)
    print(f"\n[ndcg] {users} users, rank-based {got:.6f}, evaluation {expected:.6f}")
    assert got == pytest.approx(expected, abs=1e-9)
    assert 0 < got < 1
