"""MovieLens 100k as implicit feedback, in the CSV files ``evaluate_recommender --source csv`` reads.

The data set is not in this repository. RecBole's wheel on PyPI (MIT licence) ships a copy of it
(``recbole/dataset_example/ml-100k/``: 100,000 ratings by 943 users of 1,682 movies, with user and
movie attributes). Fetch the wheel and convert it:

    .venv/bin/pip download --no-deps --only-binary :all: recbole==1.2.1 -d /tmp/ml100k
    .venv/bin/python -m bench.movielens /tmp/ml100k/recbole-1.2.1-py3-none-any.whl /tmp/ml100k
    .venv/bin/python manage.py evaluate_recommender --source csv --protocol per-user --json \\
        --interactions /tmp/ml100k/interactions.csv \\
        --user-features /tmp/ml100k/users.csv --item-features /tmp/ml100k/items.csv

Implicit feedback, as usual for this data set: a rating of 4 or 5 is a positive interaction
(weight 1, with its timestamp); lower ratings are left out. Features: users ``age:<decade>``,
``gender:<x>``, ``occupation:<x>``; movies ``genre:<x>`` and ``decade:<release decade>``.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import zipfile
from pathlib import Path

MEMBER = "recbole/dataset_example/ml-100k/ml-100k.{}"
POSITIVE_RATING = 4


def _table(wheel: zipfile.ZipFile, suffix: str) -> list[dict[str, str]]:
    text = io.TextIOWrapper(wheel.open(MEMBER.format(suffix)), encoding="latin-1")
    header = [name.split(":")[0] for name in text.readline().rstrip("\n").split("\t")]
    return [dict(zip(header, line.rstrip("\n").split("\t"), strict=False)) for line in text if line.strip()]


def convert(wheel_path: Path, out: Path) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel_path) as wheel:
        ratings, users, items = (_table(wheel, suffix) for suffix in ("inter", "user", "item"))
    positives = [r for r in ratings if float(r["rating"]) >= POSITIVE_RATING]
    with (out / "interactions.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["user_id", "item_id", "weight", "timestamp"])
        writer.writerows([r["user_id"], r["item_id"], 1, int(float(r["timestamp"]))] for r in positives)
    with (out / "users.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "feature"])
        for user in users:
            writer.writerow([user["user_id"], f"age:{int(user['age']) // 10 * 10}"])
            writer.writerow([user["user_id"], f"gender:{user['gender']}"])
            writer.writerow([user["user_id"], f"occupation:{user['occupation']}"])
    with (out / "items.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "feature"])
        for item in items:
            for genre in item.get("class", "").split():
                writer.writerow([item["item_id"], f"genre:{genre.lower()}"])
            year = item.get("release_year", "").strip()
            if year.isdigit():
                writer.writerow([item["item_id"], f"decade:{int(year) // 10 * 10}"])
    return {"ratings": len(ratings), "positives": len(positives), "users": len(users), "items": len(items)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="MovieLens 100k from RecBole's wheel to PeerLearn CSV files.")
    parser.add_argument("wheel", type=Path, help="recbole-1.2.1-py3-none-any.whl")
    parser.add_argument("out", type=Path, help="directory for interactions.csv, users.csv, items.csv")
    args = parser.parse_args(argv)
    try:
        counts = convert(args.wheel, args.out)
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        print(f"cannot convert {args.wheel}: {exc}", file=sys.stderr)
        return 2
    print(
        f"{counts['positives']} positive interactions (rating >= {POSITIVE_RATING}) of {counts['ratings']} ratings, "
        f"{counts['users']} users, {counts['items']} movies -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
