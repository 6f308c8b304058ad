from __future__ import annotations

import numpy as np
import pytest

from mentoring.recommender.data import CsvError, read_csv


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_reads_interactions_and_features(tmp_path):
    interactions = write(
        tmp_path,
        "interactions.csv",
        "user_id,item_id,weight,timestamp\n"
        "u1,i1,2.5,1700000000\n"
        "\n"
        '"u2","i1",1,2024-01-02T03:04:05+00:00\n'
        "u2,i2,-0.5,2024-01-02T03:04:05\n",
    )
    users = write(tmp_path, "users.csv", "id,feature\nu1,skill:python\nu1,skill:python\nu1,role:learner\n")
    items = write(tmp_path, "items.csv", "\ufeffid,feature\ni1,mentor:3\n")
    data = read_csv(interactions, users, items)
    assert data.user_ids == ["u1", "u2", "u2"] and data.item_ids == ["i1", "i1", "i2"]
    np.testing.assert_allclose(data.weights, [2.5, 1.0, -0.5])
    np.testing.assert_allclose(data.timestamps, [1700000000, 1704164645, 1704164645])
    assert data.user_features == {"u1": ["skill:python", "role:learner"]}
    assert data.item_features == {"i1": ["mentor:3"]}


def test_weight_and_timestamp_columns_are_optional_and_may_come_in_any_order(tmp_path):
    data = read_csv(write(tmp_path, "a.csv", "item_id,user_id\ni1,u1\ni2,u1\n"))
    assert data.user_ids == ["u1", "u1"] and list(data.weights) == [1.0, 1.0] and data.timestamps is None


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "user_id,item_id,weight\nu1,i1,1\nu1,i2,1\nu2,i3,1\nu2,i4,1\nu3,i1,1\nu3,i9,abc\n",
            "interactions.csv line 7: weight 'abc' is not a number",
        ),
        ("user_id,item_id,weight\nu1,i1,nan\n", "interactions.csv line 2: weight 'nan' is not a finite number"),
        ("user_id,item_id\nu1,i1\nu2\n", "interactions.csv line 3: expected 2 fields, got 1"),
        ("user_id,item_id\nu1,i1\n\nu2,i1,7\n", "interactions.csv line 4: expected 2 fields, got 3"),
        ("u1,i1\nu2,i2\n", r"interactions.csv line 1: missing header row \(expected user_id,item_id"),
        ("user,item\nu1,i1\n", "interactions.csv line 1: missing header row .* got 'user,item'"),
        ("user_id,item_id,rating\nu1,i1,5\n", "interactions.csv line 1: unknown column 'rating'"),
        ("user_id,weight\nu1,1\n", "interactions.csv line 1: no item_id column"),
        ("user_id,item_id,user_id\nu1,i1,u1\n", "interactions.csv line 1: column 'user_id' appears twice"),
        ("user_id,item_id\n,i1\n", "interactions.csv line 2: user_id is empty"),
        ("user_id,item_id\nu1, \n", "interactions.csv line 2: item_id is empty"),
        (
            "user_id,item_id,timestamp\nu1,i1,yesterday\n",
            "interactions.csv line 2: timestamp 'yesterday' is neither seconds since the epoch nor an ISO 8601 date",
        ),
        ("user_id,item_id,timestamp\nu1,i1,\n", "interactions.csv line 2: timestamp is empty"),
        ("user_id,item_id\n", "interactions.csv: no interactions after the header row"),
        ("", "interactions.csv: the file is empty"),
        ('user_id,item_id\nu1,"i1\n', "interactions.csv line 2: unexpected end of data"),
        (b"user_id,item_id\nu1,i1\nu2,\xff\xfe\n", "interactions.csv line 3: not valid UTF-8"),
    ],
)
def test_malformed_interactions_are_rejected_with_the_line(tmp_path, text, message):
    with pytest.raises(CsvError, match=message):
        read_csv(write(tmp_path, "interactions.csv", text))


@pytest.mark.parametrize(
    "text, message",
    [
        ("user,feature\nu1,skill:python\n", "users.csv line 1: expected the header id,feature, got user,feature"),
        ("u1,skill:python\n", "users.csv line 1: missing header row"),
        ("id,feature\nu1,skill:python,extra\n", "users.csv line 2: expected 2 fields, got 3"),
        ("id,feature\nu1,skill:python\n,skill:sql\n", "users.csv line 3: id is empty"),
        ("id,feature\nu1,\n", "users.csv line 2: feature is empty"),
    ],
)
def test_malformed_feature_files_are_rejected_with_the_line(tmp_path, text, message):
    interactions = write(tmp_path, "interactions.csv", "user_id,item_id\nu1,i1\n")
    with pytest.raises(CsvError, match=message):
        read_csv(interactions, user_features_path=write(tmp_path, "users.csv", text))


def test_missing_files_are_named(tmp_path):
    with pytest.raises(CsvError, match="nope.csv: no such file"):
        read_csv(tmp_path / "nope.csv")
    with pytest.raises(CsvError, match="is a directory"):
        read_csv(tmp_path)
