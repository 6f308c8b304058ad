"""Command-line options shared by ``train_recommender`` and ``evaluate_recommender`` (argparse only)."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable

from .model import LOSSES
from .training import DEFAULT_PARAMS

MAX_SEARCH_SECONDS = 86_400


def add_training_arguments(parser) -> None:
    group = parser.add_argument_group("training")
    group.add_argument(
        "--epochs",
        type=int,
        default=DEFAULT_PARAMS["epochs"],
        help="Passes over the data at most (1-1000, default %(default)s); early stopping picks the best.",
    )
    group.add_argument(
        "--patience",
        type=int,
        default=DEFAULT_PARAMS["patience"],
        help="Early stopping: epochs without a better validation NDCG@10 before stopping "
        "(0-100, default %(default)s; 0 trains exactly --epochs).",
    )
    group.add_argument(
        "--components",
        type=int,
        default=DEFAULT_PARAMS["components"],
        help="Embedding size (1-512, default %(default)s).",
    )
    group.add_argument(
        "--loss", choices=LOSSES, default=DEFAULT_PARAMS["loss"], help="LightFM loss (default %(default)s)."
    )
    group.add_argument(
        "--learning-rate", type=float, default=DEFAULT_PARAMS["learning_rate"], help="Default %(default)s."
    )
    for side in ("item", "user"):
        group.add_argument(
            f"--{side}-alpha",
            type=float,
            default=DEFAULT_PARAMS[f"{side}_alpha"],
            help=f"L2 penalty on {side} feature embeddings (0-1, default %(default)s).",
        )
    group.add_argument(
        "--max-sampled",
        type=int,
        default=DEFAULT_PARAMS["max_sampled"],
        help="WARP: negatives sampled at most per positive (1-1000, default %(default)s).",
    )
    group.add_argument(
        "--identity-weight",
        type=float,
        default=DEFAULT_PARAMS["identity_weight"],
        help="Share of a known user's or item's identity feature in its representation, its side features "
        "sharing the rest (above 0 and below 1; default: plain normalisation, 1/n each).",
    )
    group.add_argument(
        "--ensemble",
        type=int,
        default=DEFAULT_PARAMS["ensemble"],
        help="Fit this many models (seeds seed, seed+1, ...) and serve their summed scores as one model "
        "(1-20, default %(default)s; the training takes that many times longer).",
    )
    group.add_argument(
        "--search",
        type=float,
        default=0,
        metavar="SECONDS",
        help=f"Random search of components, learning rate, regularisation, max-sampled and identity weight on "
        f"a validation split, "
        f"within this many seconds (0-{MAX_SEARCH_SECONDS}, default 0: no search).",
    )


def training_params(options: dict) -> dict:
    """The LightFM parameters (and ``search`` seconds) from parsed options; ``ValueError`` with a
    message for bad values."""
    if not 1 <= options["epochs"] <= 1000:
        raise ValueError(f"--epochs must be between 1 and 1000, not {options['epochs']}")
    if not 0 <= options["patience"] <= 100:
        raise ValueError(f"--patience must be between 0 and 100, not {options['patience']}")
    if not 1 <= options["components"] <= 512:
        raise ValueError(f"--components must be between 1 and 512, not {options['components']}")
    if not 0 < options["learning_rate"] <= 10:
        raise ValueError(f"--learning-rate must be above 0 and at most 10, not {options['learning_rate']}")
    for side in ("item", "user"):
        value = options[f"{side}_alpha"]
        if not (math.isfinite(value) and 0 <= value <= 1):
            raise ValueError(f"--{side}-alpha must be between 0 and 1, not {value}")
    if not 1 <= options["max_sampled"] <= 1000:
        raise ValueError(f"--max-sampled must be between 1 and 1000, not {options['max_sampled']}")
    weight = options["identity_weight"]
    if weight is not None and not (math.isfinite(weight) and 0 < weight < 1):
        raise ValueError(f"--identity-weight must be above 0 and below 1, not {weight}")
    if not 1 <= options["ensemble"] <= 20:
        raise ValueError(f"--ensemble must be between 1 and 20, not {options['ensemble']}")
    if not (math.isfinite(options["search"]) and 0 <= options["search"] <= MAX_SEARCH_SECONDS):
        raise ValueError(f"--search must be between 0 and {MAX_SEARCH_SECONDS} seconds, not {options['search']:g}")
    return {
        "loss": options["loss"],
        "components": options["components"],
        "epochs": options["epochs"],
        "learning_rate": options["learning_rate"],
        "item_alpha": options["item_alpha"],
        "user_alpha": options["user_alpha"],
        "max_sampled": options["max_sampled"],
        "identity_weight": weight,
        "ensemble": options["ensemble"],
        "patience": options["patience"],
        "search": options["search"],
    }


class ProgressBar:
    """``stage [#####.....] 12/30``, redrawn in place on a terminal, a few lines per stage otherwise.

    ``write`` takes text as is (no newline added); ``interactive`` says whether it goes to a terminal.
    """

    def __init__(
        self, write: Callable[[str], object] | None = None, *, interactive: bool | None = None, width: int = 30
    ):
        self.write = write or sys.stderr.write
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self.width = width

    def __call__(self, stage: str, epoch: int, epochs: int) -> None:
        if not self.interactive and epoch not in (1, epochs) and epoch % max(1, epochs // 5):
            return  # in a log file, a few lines per stage are enough
        done = round(self.width * epoch / epochs)
        line = f"{stage:<16} [{'#' * done}{'.' * (self.width - done)}] {epoch}/{epochs}"
        end = "\n" if epoch == epochs or not self.interactive else ""
        self.write(("\r" if self.interactive else "") + line + end)
