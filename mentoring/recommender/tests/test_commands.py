from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from conftest import make_user
from mentoring.recommender import artifact, peers
from mentoring.recommender.db import session_item_id, user_item_id
from mentoring.tests.factories import make_booking, make_session, skill

SMALL = ["--users", "200", "--items", "60", "--epochs", "5", "--components", "8"]


@pytest.fixture(autouse=True)
def small_peer_grids(monkeypatch):
    """One or two settings per peer: the full grids (peers.GRIDS) take half a minute even on tiny data."""
    monkeypatch.setattr(
        peers,
        "GRIDS",
        {
            "als": {"factors": (8,), "regularization": (0.1, 1.0), "alpha": (10.0,), "iterations": (10,)},
            "bpr": {"factors": (8,), "learning_rate": (0.05,), "regularization": (0.01,), "iterations": (50,)},
            "item_knn": {"k": (10, 50)},
        },
    )


def run(name, *args):
    out, err = StringIO(), StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


METRICS = {"precision_at_5", "precision_at_10", "recall_at_10", "ndcg_at_10", "map_at_10", "auc", "coverage_at_10"}
ALL_MODELS = {"lightfm_hybrid", "lightfm_pure", "als", "bpr", "item_knn", "popularity", "random", "oracle"}


def models_of(report: dict) -> set[str]:
    """The models reported; the hybrid's LightFM half alone is reported exactly when the neighbourhood
    was chosen (weight above 0), and is then left out here."""
    chosen = report["tuning"]["lightfm_hybrid"]["params"].get("neighbours") or {"weight": 0}
    assert ("hybrid_without_neighbours" in report["models"]) == (chosen["weight"] > 0)
    return set(report["models"]) - {"hybrid_without_neighbours"}


def test_evaluate_prints_one_json_object_with_every_model():
    out, _ = run("evaluate_recommender", "--json", *SMALL)
    report = json.loads(out)
    assert report["source"] == "synthetic" and report["split"] == "random"
    assert models_of(report) == ALL_MODELS
    for metrics in report["models"].values():
        assert set(metrics) == METRICS
        assert all(0 <= value <= 1 for value in metrics.values())
    assert report["train_seconds"] > 0


def test_evaluate_per_user_json_has_the_peers_the_split_sizes_and_the_interval():
    out, _ = run("evaluate_recommender", "--json", "--protocol", "per-user", "--holdout", "2", *SMALL)
    report = json.loads(out)
    sizes, models = report["sizes"], report["models"]
    print(f"\n[command per-user N=2] sizes {sizes}")
    print("[command per-user N=2] " + ", ".join(f"{n} ndcg@10 {m['ndcg_at_10']:.4f}" for n, m in models.items()))
    print(f"[command per-user N=2] comparison {report['comparison']}")
    assert report["split"] == "per-user" and report["params"]["holdout"] == 2
    assert models_of(report) == ALL_MODELS and all(set(m) == METRICS for m in models.values())
    assert {"als", "bpr", "item_knn"} <= set(report["tuning"]) and report["omitted"] == {}
    assert report["tuning"]["als"]["tried"] == 2 and report["tuning"]["als"]["params"]["regularization"] in (0.1, 1.0)
    assert sizes["test_interactions"] == 2 * sizes["test_users"]
    assert sizes["users"] == 200 and sizes["items"] <= 60 and sizes["train_interactions"] > sizes["test_interactions"]
    assert sizes["evaluated_users_without_training_rows"] == 0
    comparison = report["comparison"]
    assert comparison["baseline"] in ALL_MODELS - {"lightfm_hybrid", "oracle"}  # never the hybrid's own half
    assert comparison["ndcg_at_10"]["low"] <= comparison["ndcg_at_10"]["difference"] <= comparison["ndcg_at_10"]["high"]


def test_evaluate_table_names_the_split_its_sizes_and_the_comparison():
    out, _ = run("evaluate_recommender", "--protocol", "per-user", *SMALL)
    print(f"\n{out}")
    assert "split per-user (each user's latest 1 positive held out, users with at least 2): 200 users" in out
    assert " train and " in out and " test interactions" in out
    assert "ndcg@10" in out and "item_knn" in out and "paired bootstrap over" in out


def test_evaluate_on_csv_files_has_no_oracle_and_can_hold_out_cold_users(tmp_path):
    rows = [f"u{u},i{(u * 7 + n) % 40},1" for u in range(60) for n in range(6)]
    interactions = tmp_path / "interactions.csv"
    interactions.write_text("user_id,item_id,weight\n" + "\n".join(rows) + "\n")
    users = tmp_path / "users.csv"
    users.write_text("id,feature\n" + "\n".join(f"u{u},group:{u % 5}" for u in range(60)) + "\n")
    out, _ = run(
        "evaluate_recommender",
        "--json",
        "--source",
        "csv",
        "--interactions",
        str(interactions),
        "--user-features",
        str(users),
        "--cold",
        "users",
        "--epochs",
        "3",
    )
    report = json.loads(out)
    assert report["source"] == "csv" and report["split"] == "cold-users"
    assert models_of(report) == {"lightfm_hybrid", "lightfm_pure", "popularity", "random"}
    assert set(report["omitted"]) == {"als", "bpr", "item_knn"}  # no features: new users cannot be ranked


def test_evaluate_prints_a_table_without_json():
    out, _ = run("evaluate_recommender", *SMALL)
    assert "lightfm_hybrid" in out and "p@10" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--source", "csv"], "--source csv needs --interactions FILE"),
        (
            ["--source", "csv", "--interactions", "/nonexistent/x.csv"],
            "--interactions: no such file: /nonexistent/x.csv",
        ),
        (["--users", "-5"], "--users must be between 2 and 1000000, not -5"),
        (["--items", "0"], "--items must be between 2 and 100000, not 0"),
        (["--epochs", "0"], "--epochs must be between 1 and 1000, not 0"),
        (["--components", "-1"], "--components must be between 1 and 512"),
        (["--learning-rate", "0"], "--learning-rate must be above 0"),
        (["--seed", "-1"], "--seed must be 0 or more"),
        (["--source", "db", "--users", "10"], "--users only apply to --source synthetic"),
        (["--interactions", "x.csv"], "--interactions only apply to --source csv"),
        (["--protocol", "per-user", "--holdout", "0"], "--holdout must be between 1 and 100, not 0"),
        (["--protocol", "per-user", "--holdout", "1000000000"], "--holdout must be between 1 and 100"),
        (["--holdout", "2"], "--holdout only applies to --protocol per-user"),
        (["--protocol", "per-user", "--holdout", "two"], "invalid int value: 'two'"),
        (["--protocol", "leave-one-out"], "invalid choice: 'leave-one-out'"),
        (["--search", "-1"], "--search must be between 0 and 86400 seconds, not -1"),
        (["--search", "1e12"], "--search must be between 0 and 86400 seconds"),
        (["--search", "nan"], "--search must be between 0 and 86400 seconds, not nan"),
        (["--search", "soon"], "invalid float value: 'soon'"),
        (["--item-alpha", "-0.1"], "--item-alpha must be between 0 and 1, not -0.1"),
        (["--user-alpha", "inf"], "--user-alpha must be between 0 and 1, not inf"),
        (["--patience", "-1"], "--patience must be between 0 and 100, not -1"),
        (["--epochs", "99999999999"], "--epochs must be between 1 and 1000"),
        (["--max-users", "10000000"], "--max-users must be between 1 and 100000"),
    ],
)
def test_evaluate_refuses_bad_arguments_with_a_message(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CommandError) as caught:
        run("evaluate_recommender", "--json", *args)
    assert message in str(caught.value)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_evaluate_reports_malformed_csv_as_a_command_error(tmp_path):
    bad = tmp_path / "interactions.csv"
    bad.write_text("user_id,item_id,weight\nu1,i1,abc\n")
    with pytest.raises(CommandError, match="interactions.csv line 2: weight 'abc' is not a number"):
        run("evaluate_recommender", "--source", "csv", "--interactions", str(bad))


@pytest.mark.django_db
def test_train_with_too_little_data_says_so_and_writes_nothing(tmp_path, learner):
    out, _ = run("train_recommender", "--dir", str(tmp_path / "models"))
    assert out.startswith("Not trained: there are no positive interactions")
    assert not (tmp_path / "models").exists()


@pytest.mark.django_db
def test_train_saves_a_version_with_metadata(tmp_path, learner, other_learner, mentor):
    python = skill("Python")
    sessions = [
        make_session(mentor, starts_in=timedelta(days=n + 1), capacity=3, skills=[python], title=f"S{n}")
        for n in range(4)
    ]
    for session in sessions[:3]:
        make_booking(session, learner)
    for session in sessions[1:]:
        make_booking(session, other_learner)
    directory = tmp_path / "models"
    out, err = run(
        "train_recommender", "--dir", str(directory), "--epochs", "3", "--patience", "0", "--components", "4"
    )
    assert "Trained on 2 learners, 4 sessions and 6 interactions (6 positive)" in out
    assert "Saved version" in out and "final" in err and "3/3" in err  # the progress bar
    version = artifact.latest_version(directory)
    metadata = artifact.read_metadata(directory, version)
    assert metadata["counts"]["interactions"] == 6 and metadata["params"]["epochs"] == 3
    model = artifact.load(directory, version)
    assert model.knows_user(user_item_id(learner.pk)) and model.knows_item(session_item_id(sessions[0].pk))
    out, _ = run("train_recommender", "--dir", str(directory), "--epochs", "1", "--keep", "1")
    assert len(artifact.versions(directory)) == 1 and artifact.latest_version(directory) > version


@pytest.mark.parametrize(
    "args, message",
    [
        (["--epochs", "0"], "--epochs must be between 1 and 1000, not 0"),
        (["--search", "-1"], "--search must be between 0 and 86400 seconds, not -1"),
        (["--search", "100000"], "--search must be between 0 and 86400 seconds, not 100000"),
        (["--search", "a minute"], "invalid float value: 'a minute'"),
        (["--item-alpha", "2"], "--item-alpha must be between 0 and 1, not 2"),
        (["--components", "100000"], "--components must be between 1 and 512"),
        (["--keep", "0"], "--keep must be at least 1, not 0"),
    ],
)
def test_train_refuses_bad_arguments_and_writes_nothing(args, message, tmp_path):
    directory = tmp_path / "models"
    with pytest.raises(CommandError) as caught:
        run("train_recommender", "--dir", str(directory), *args)
    assert message in str(caught.value)
    assert not directory.exists()


@pytest.mark.django_db
def test_train_stores_and_shows_the_settings_early_stopping_and_search_chose(tmp_path, mentor):
    python, sql = skill("Python"), skill("SQL")
    sessions = [
        make_session(
            mentor, starts_in=timedelta(days=n + 1), capacity=6, skills=[python if n % 2 else sql], title=f"S{n}"
        )
        for n in range(12)
    ]
    for n in range(24):  # odd learners book Python sessions, even ones SQL: six bookings per session
        learner = make_user(f"learner{n}@example.com", f"Learner {n}")
        topic = sessions[n % 2 :: 2]
        for j in range(3):
            make_booking(topic[(n // 2 + j) % 6], learner)
    directory = tmp_path / "models"
    out, _ = run("train_recommender", "--dir", str(directory), "--epochs", "8", "--components", "4", "--search", "2")
    print(f"\n[train --search 2, 24 learners] {out}")
    # 24 learners are too few to choose epochs or settings by: the fixed count (at most --epochs), said so.
    assert "8 epochs" in out and "epochs fixed, not by early stopping:" in out and "fewer than 100" in out
    metadata = artifact.read_metadata(directory, artifact.latest_version(directory))
    tuning = metadata["tuning"]
    assert tuning["chosen"] == {key: metadata["params"][key] for key in tuning["chosen"]}
    assert set(tuning["chosen"]) == {
        "loss",
        "components",
        "epochs",
        "learning_rate",
        "item_alpha",
        "user_alpha",
        "max_sampled",
        "identity_weight",
        "neighbours",
    }
    assert tuning["chosen"]["epochs"] == tuning["early_stopping"]["fixed_epochs"] == 8
    # Nor the neighbourhood's weight: left off, and said so.
    assert tuning["chosen"]["neighbours"]["weight"] == 0 and metadata["neighbours"] is None
    assert "no item neighbourhood:" in out and "too noisy to choose the weight by" in out


def test_training_stores_the_epochs_early_stopping_and_search_chose(tmp_path):
    from mentoring.management.commands.train_recommender import describe_params
    from mentoring.recommender.data import synthetic
    from mentoring.recommender.training import train_and_save

    directory = tmp_path / "models"
    params = {"epochs": 30, "components": 8, "patience": 3, "search": 3}
    result = train_and_save(synthetic(300, 60, seed=2), directory, params=params)
    text = describe_params(result.params, result.tuning)
    print(f"\n[train_and_save, 300 synthetic learners, --search 3] {text}")
    metadata = artifact.read_metadata(directory, result.version)
    tuning, stopped = metadata["tuning"], metadata["tuning"]["early_stopping"]
    assert tuning["chosen"] == result.params == {key: metadata["params"][key] for key in tuning["chosen"]}
    assert tuning["chosen"]["epochs"] == stopped["best_epoch"] <= 30 and stopped["validation_users"] >= 100
    assert 1 <= len(tuning["search"]["trials"]) and tuning["search"]["budget_seconds"] == 3
    assert f"{result.params['epochs']} epochs" in text and "epochs by early stopping: best of" in text
    assert "tried in" in text
