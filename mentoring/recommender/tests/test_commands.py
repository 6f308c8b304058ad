from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from mentoring.recommender import artifact
from mentoring.recommender.db import session_item_id, user_item_id
from mentoring.tests.factories import make_booking, make_session, skill

SMALL = ["--users", "200", "--items", "60", "--epochs", "5", "--components", "8"]


def run(name, *args):
    out, err = StringIO(), StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_evaluate_prints_one_json_object_with_every_model():
    out, _ = run("evaluate_recommender", "--json", *SMALL)
    report = json.loads(out)
    assert report["source"] == "synthetic" and report["split"] == "random"
    assert set(report["models"]) == {"lightfm_hybrid", "lightfm_pure", "popularity", "random", "oracle"}
    for metrics in report["models"].values():
        assert set(metrics) == {"precision_at_5", "precision_at_10", "recall_at_10", "auc"}
        assert all(0 <= value <= 1 for value in metrics.values())
    assert report["train_seconds"] > 0


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
    assert set(report["models"]) == {"lightfm_hybrid", "lightfm_pure", "popularity", "random"}


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
    ],
)
def test_evaluate_refuses_bad_arguments_with_a_message(args, message):
    with pytest.raises(CommandError) as caught:
        run("evaluate_recommender", "--json", *args)
    assert message in str(caught.value)


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
    out, err = run("train_recommender", "--dir", str(directory), "--epochs", "3", "--components", "4")
    assert "Trained on 2 learners, 4 sessions and 6 interactions (6 positive)" in out
    assert "Saved version" in out and "final" in err and "3/3" in err  # the progress bar
    version = artifact.latest_version(directory)
    metadata = artifact.read_metadata(directory, version)
    assert metadata["counts"]["interactions"] == 6 and metadata["params"]["epochs"] == 3
    model = artifact.load(directory, version)
    assert model.knows_user(user_item_id(learner.pk)) and model.knows_item(session_item_id(sessions[0].pk))
    out, _ = run("train_recommender", "--dir", str(directory), "--epochs", "1", "--keep", "1")
    assert len(artifact.versions(directory)) == 1 and artifact.latest_version(directory) > version


def test_train_refuses_bad_arguments():
    with pytest.raises(CommandError, match="--epochs must be between 1 and 1000, not 0"):
        run("train_recommender", "--epochs", "0")
