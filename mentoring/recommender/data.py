"""Interaction data for the recommender, and two of its sources: a synthetic generator and CSV files.

:class:`InteractionData` is what training and evaluation take: parallel lists of user ids, item ids
(strings) and weights, optional timestamps (seconds since the epoch), and side features for users and
items as ``{id: [feature name, ...]}``. Feature names are ``<kind>:<value>``: ``skill:python``,
``role:learner``, ``goal:django``, ``level:beginner`` for users; ``skill:python``, ``mentor:12``,
``level:beginner``, ``course:7`` for items. A weight above zero is a positive signal (its size says how
strong); zero or below is a negative one (see :mod:`.model` for how each loss uses them).

The synthetic generator
-----------------------
:func:`synthetic` plants a structure the models have to find, and keeps it so an *oracle* can rank
by the truth:

- There are ``skills`` topics (``python``, ``django``, ...). Each learner ``u`` has a latent interest
  mixture ``theta_u ~ Dirichlet(concentration)`` over them (with the default 0.1 most learners care
  about one to three topics) and a level (beginner, intermediate, advanced).
- Each item (a session) teaches one to three topics with weights ``phi_i ~ Dirichlet(1)`` over its
  topics, has a level, and belongs to one of ``items // 5`` mentors. Its appeal ``q_i`` is its
  mentor's quality times its own, both log-normal (``popularity_sigma``), so some mentors and
  sessions are more popular than others.
- The planted affinity is ``a(u, i) = (theta_u . phi_i) * level_fit(u, i) * q_i`` where ``level_fit``
  is 1 for the same level, 0.5 one level apart and 0.25 two apart.
- Learner ``u`` takes ``n_u`` items, ``n_u`` log-normal around ``interactions_per_user`` (at least
  2), without replacement, from ``p(u, i) = (1 - noise) * a(u, i) / sum_j a(u, j) + noise * q_i /
  sum_j q_j``: a ``noise`` share of choices ignores the learner's interests and follows popularity
  only. The oracle ranks by this ``p(u, i)``, the very distribution the data was drawn from.
- What the models see as side features is noisy, as profiles on a real site are: a learner lists
  the topics holding at least 15% of their interest (at most three, always the top one), but with
  probability ``feature_noise`` drops one of them (when there are two or more) and, independently,
  with probability ``feature_noise`` adds an unrelated topic; plus ``level:<x>`` and
  ``role:learner``. An item lists its topics (``skill:<x>``), ``mentor:<m>`` and ``level:<x>``.

All interactions have weight 1 and there are no timestamps, so evaluations use a random holdout.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

SKILL_NAMES = (
    "python",
    "django",
    "javascript",
    "sql",
    "data-science",
    "machine-learning",
    "ux-design",
    "devops",
    "career-coaching",
    "product-management",
    "react",
    "rust",
    "go",
    "java",
    "kubernetes",
    "security",
    "statistics",
    "writing",
    "public-speaking",
    "system-design",
)
LEVELS = ("beginner", "intermediate", "advanced")
_LEVEL_FIT = np.array([[1.0, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 1.0]])


class CsvError(ValueError):
    """A CSV file cannot be read; the message names the file and line and says what is wrong."""


# --------------------------------------------------------------------------- the structure
@dataclass
class PlantedAffinity:
    """The truth behind synthetic data: ``p(u, i)`` for any learner and item the generator made."""

    user_ids: list[str]
    item_ids: list[str]
    theta: np.ndarray  # users x skills: interest mixtures
    phi: np.ndarray  # items x skills: skill profiles
    user_level: np.ndarray  # users: 0..2
    item_level: np.ndarray  # items: 0..2
    appeal: np.ndarray  # items: q_i
    noise: float
    _user_index: dict[str, int] = field(init=False, repr=False)
    _item_index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self):
        self._user_index = {u: n for n, u in enumerate(self.user_ids)}
        self._item_index = {i: n for n, i in enumerate(self.item_ids)}

    def _probabilities(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        """``p(u, i)`` for user indices ``users`` over item indices ``items`` (all items by default)."""
        raw = (self.theta[users] @ self.phi.T) * _LEVEL_FIT[self.user_level[users]][:, self.item_level] * self.appeal
        p = (1 - self.noise) * raw / raw.sum(axis=1, keepdims=True) + self.noise * self.appeal / self.appeal.sum()
        return p if items is None else p[:, items]

    def scores(self, user_ids: Sequence[str], item_ids: Sequence[str]) -> np.ndarray:
        """The planted probabilities, ``len(user_ids) x len(item_ids)``."""
        users = np.array([self._user_index[u] for u in user_ids], dtype=np.int64)
        items = np.array([self._item_index[i] for i in item_ids], dtype=np.int64)
        return self._probabilities(users, items)


# --------------------------------------------------------------------------- the container
@dataclass
class InteractionData:
    """Interactions as parallel arrays, with side features; see the module docstring."""

    user_ids: list[str]
    item_ids: list[str]
    weights: np.ndarray
    timestamps: np.ndarray | None = None
    user_features: dict[str, list[str]] = field(default_factory=dict)
    item_features: dict[str, list[str]] = field(default_factory=dict)
    affinity: PlantedAffinity | None = None

    def __post_init__(self):
        self.user_ids = [str(u) for u in self.user_ids]
        self.item_ids = [str(i) for i in self.item_ids]
        self.weights = np.asarray(self.weights, dtype=np.float32).reshape(-1)
        if not len(self.user_ids) == len(self.item_ids) == len(self.weights):
            raise ValueError(
                f"user_ids, item_ids and weights differ in length: "
                f"{len(self.user_ids)}, {len(self.item_ids)}, {len(self.weights)}"
            )
        if not np.all(np.isfinite(self.weights)):
            raise ValueError("weights must be finite numbers")
        if self.timestamps is not None:
            self.timestamps = np.asarray(self.timestamps, dtype=np.float64).reshape(-1)
            if len(self.timestamps) != len(self.user_ids):
                raise ValueError(f"{len(self.timestamps)} timestamps for {len(self.user_ids)} interactions")

    def __len__(self) -> int:
        return len(self.user_ids)

    def users(self) -> list[str]:
        """Users with at least one interaction, in order of first appearance."""
        return list(dict.fromkeys(self.user_ids))

    def items(self) -> list[str]:
        """Items with at least one interaction, in order of first appearance."""
        return list(dict.fromkeys(self.item_ids))

    def select(self, mask: np.ndarray) -> InteractionData:
        """The interactions where ``mask`` is true; features and planted affinity are shared."""
        mask = np.asarray(mask, dtype=bool)
        keep = np.flatnonzero(mask)
        return InteractionData(
            user_ids=[self.user_ids[n] for n in keep],
            item_ids=[self.item_ids[n] for n in keep],
            weights=self.weights[keep],
            timestamps=None if self.timestamps is None else self.timestamps[keep],
            user_features=self.user_features,
            item_features=self.item_features,
            affinity=self.affinity,
        )

    def counts(self) -> dict[str, int]:
        user_features = {f for u in self.users() for f in self.user_features.get(u, ())}
        item_features = {f for i in self.items() for f in self.item_features.get(i, ())}
        return {
            "users": len(set(self.user_ids)),
            "items": len(set(self.item_ids)),
            "interactions": len(self),
            "positive_interactions": int(np.count_nonzero(self.weights > 0)),
            "user_features": len(user_features),
            "item_features": len(item_features),
        }


# --------------------------------------------------------------------------- synthetic
def synthetic(
    users: int = 2000,
    items: int = 500,
    seed: int = 0,
    skills: int = 20,
    *,
    interactions_per_user: float = 12.0,
    concentration: float = 0.1,
    noise: float = 0.15,
    feature_noise: float = 0.2,
    popularity_sigma: float = 0.5,
) -> InteractionData:
    """Interactions drawn from a planted structure (see the module docstring), reproducible by ``seed``."""
    if users < 1 or items < 2 or skills < 1:
        raise ValueError("synthetic data needs at least 1 user, 2 items and 1 skill")
    if not 0 <= noise < 1 or not 0 <= feature_noise <= 1:
        raise ValueError("noise must be in [0, 1) and feature_noise in [0, 1]")
    rng = np.random.default_rng(seed)
    skill_names = [SKILL_NAMES[s] if s < len(SKILL_NAMES) else f"topic-{s}" for s in range(skills)]
    user_ids = [f"u{n}" for n in range(users)]
    item_ids = [f"i{n}" for n in range(items)]

    theta = rng.dirichlet(np.full(skills, concentration), size=users)
    user_level = rng.integers(0, len(LEVELS), size=users)
    phi = np.zeros((items, skills))
    item_skills = []
    for n in range(items):
        chosen = rng.choice(skills, size=min(skills, int(rng.integers(1, 4))), replace=False)
        phi[n, chosen] = rng.dirichlet(np.ones(len(chosen)))
        item_skills.append(chosen[np.argsort(-phi[n, chosen])])
    item_level = rng.integers(0, len(LEVELS), size=items)
    mentors = max(1, items // 5)
    item_mentor = rng.integers(0, mentors, size=items)
    mentor_quality = rng.lognormal(0.0, popularity_sigma, size=mentors)
    appeal = mentor_quality[item_mentor] * rng.lognormal(0.0, popularity_sigma, size=items)
    affinity = PlantedAffinity(user_ids, item_ids, theta, phi, user_level, item_level, appeal, noise)

    # How many items each learner takes, then which: the Gumbel top-k trick draws without replacement
    # with probabilities proportional to p(u, .), a chunk of users at a time.
    sizes = np.clip(
        np.rint(rng.lognormal(math.log(interactions_per_user) - 0.125, 0.5, size=users)), 2, max(2, items // 2)
    ).astype(np.int64)
    rows, cols = [], []
    for start in range(0, users, 1024):
        block = np.arange(start, min(users, start + 1024))
        keys = np.log(affinity._probabilities(block)) + rng.gumbel(size=(len(block), items))
        order = np.argsort(-keys, axis=1)
        for offset, u in enumerate(block):
            taken = order[offset, : sizes[u]]
            rows.append(np.full(len(taken), u))
            cols.append(taken)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    shuffle = rng.permutation(len(rows))
    rows, cols = rows[shuffle], cols[shuffle]

    user_features = {}
    for u in range(users):
        ranked = np.argsort(-theta[u])
        listed = [int(s) for s in ranked[:3] if theta[u, s] >= 0.15] or [int(ranked[0])]
        if len(listed) > 1 and rng.random() < feature_noise:
            listed.pop(int(rng.integers(len(listed))))
        if rng.random() < feature_noise:
            listed.append(int(rng.integers(skills)))
        names = [f"skill:{skill_names[s]}" for s in dict.fromkeys(listed)]
        user_features[user_ids[u]] = [*names, f"level:{LEVELS[user_level[u]]}", "role:learner"]
    item_features = {
        item_ids[i]: [
            *(f"skill:{skill_names[s]}" for s in item_skills[i]),
            f"mentor:{item_mentor[i]}",
            f"level:{LEVELS[item_level[i]]}",
        ]
        for i in range(items)
    }
    return InteractionData(
        user_ids=[user_ids[u] for u in rows],
        item_ids=[item_ids[i] for i in cols],
        weights=np.ones(len(rows), dtype=np.float32),
        user_features=user_features,
        item_features=item_features,
        affinity=affinity,
    )


# --------------------------------------------------------------------------- CSV
INTERACTION_COLUMNS = ("user_id", "item_id", "weight", "timestamp")
_EXPECTED = "user_id,item_id[,weight][,timestamp]"


def read_csv(
    interactions_path: str | Path,
    user_features_path: str | Path | None = None,
    item_features_path: str | Path | None = None,
) -> InteractionData:
    """Interactions (``user_id,item_id[,weight][,timestamp]``, header row required, columns in any order)
    and optional feature files (``id,feature`` header, one feature per row).

    A missing weight is 1. A timestamp is seconds since the epoch or an ISO 8601 date and time (UTC
    when it names no offset). Anything malformed raises :class:`CsvError` naming the file and line.
    """
    user_ids, item_ids, weights, timestamps = [], [], [], []
    path = Path(interactions_path)
    with _rows(path) as rows:
        header, line = _header(path, rows, _EXPECTED, INTERACTION_COLUMNS)
        unknown = [c for c in header if c not in INTERACTION_COLUMNS]
        if unknown:
            raise CsvError(f"{path.name} line {line}: unknown column {unknown[0]!r} (expected {_EXPECTED})")
        duplicate = next((c for c in header if header.count(c) > 1), None)
        if duplicate:
            raise CsvError(f"{path.name} line {line}: column {duplicate!r} appears twice")
        for required in ("user_id", "item_id"):
            if required not in header:
                raise CsvError(f"{path.name} line {line}: no {required} column (expected {_EXPECTED})")
        at = {name: header.index(name) for name in header}
        for line, row in rows:
            if len(row) != len(header):
                raise CsvError(f"{path.name} line {line}: expected {len(header)} fields, got {len(row)}")
            user, item = row[at["user_id"]].strip(), row[at["item_id"]].strip()
            if not user:
                raise CsvError(f"{path.name} line {line}: user_id is empty")
            if not item:
                raise CsvError(f"{path.name} line {line}: item_id is empty")
            weight = 1.0
            if "weight" in at:
                text = row[at["weight"]].strip()
                try:
                    weight = float(text)
                except ValueError:
                    raise CsvError(f"{path.name} line {line}: weight {text!r} is not a number") from None
                if not math.isfinite(weight):
                    raise CsvError(f"{path.name} line {line}: weight {text!r} is not a finite number")
            if "timestamp" in at:
                timestamps.append(_timestamp(row[at["timestamp"]].strip(), path, line))
            user_ids.append(user)
            item_ids.append(item)
            weights.append(weight)
    if not user_ids:
        raise CsvError(f"{path.name}: no interactions after the header row")
    return InteractionData(
        user_ids=user_ids,
        item_ids=item_ids,
        weights=np.array(weights, dtype=np.float32),
        timestamps=np.array(timestamps, dtype=np.float64) if timestamps else None,
        user_features=read_features_csv(user_features_path) if user_features_path else {},
        item_features=read_features_csv(item_features_path) if item_features_path else {},
    )


def read_features_csv(path: str | Path) -> dict[str, list[str]]:
    """``id,feature`` rows (header row required) as ``{id: [feature, ...]}``, duplicates dropped."""
    path = Path(path)
    features: dict[str, dict[str, None]] = {}
    with _rows(path) as rows:
        header, line = _header(path, rows, "id,feature", ("id", "feature"))
        if header != ["id", "feature"]:
            raise CsvError(f"{path.name} line {line}: expected the header id,feature, got {','.join(header)}")
        for line, row in rows:
            if len(row) != 2:
                raise CsvError(f"{path.name} line {line}: expected 2 fields, got {len(row)}")
            entity, feature = row[0].strip(), row[1].strip()
            if not entity:
                raise CsvError(f"{path.name} line {line}: id is empty")
            if not feature:
                raise CsvError(f"{path.name} line {line}: feature is empty")
            features.setdefault(entity, {})[feature] = None
    return {entity: list(names) for entity, names in features.items()}


class _rows:
    """``(line number, fields)`` for each non-blank row of a UTF-8 CSV file, as a context manager."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> Iterable[tuple[int, list[str]]]:
        try:
            self.file = self.path.open("rb")
        except FileNotFoundError:
            raise CsvError(f"{self.path}: no such file") from None
        except IsADirectoryError:
            raise CsvError(f"{self.path}: is a directory, not a CSV file") from None
        except OSError as exc:
            raise CsvError(f"{self.path}: cannot be read ({exc.strerror})") from None
        return self._iterate()

    def _lines(self):
        # Decoded line by line (not by the 8 KiB block) so a bad byte is reported on its own line.
        for number, raw in enumerate(self.file, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise CsvError(f"{self.path.name} line {number}: not valid UTF-8 text") from None
            yield text.removeprefix("\ufeff") if number == 1 else text

    def _iterate(self):
        reader = csv.reader(self._lines(), strict=True)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise CsvError(f"{self.path.name} line {reader.line_num}: {exc}") from None
            if row and any(value.strip() for value in row):
                yield reader.line_num, row

    def __exit__(self, *exc):
        self.file.close()


def _header(path: Path, rows, expected: str, known: Iterable[str]) -> tuple[list[str], int]:
    for line, row in rows:
        header = [name.strip().lower() for name in row]
        if not set(header) & set(known):
            raise CsvError(f"{path.name} line {line}: missing header row (expected {expected}, got {','.join(row)!r})")
        return header, line
    raise CsvError(f"{path.name}: the file is empty (expected a header row {expected})")


def _timestamp(text: str, path: Path, line: int) -> float:
    if not text:
        raise CsvError(f"{path.name} line {line}: timestamp is empty")
    try:
        value = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise CsvError(
                f"{path.name} line {line}: timestamp {text!r} is neither seconds since the epoch nor an ISO 8601 date"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    if not math.isfinite(value):
        raise CsvError(f"{path.name} line {line}: timestamp {text!r} is not a finite number")
    return value
