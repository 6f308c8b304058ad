"""Command-line options shared by ``train_recommender`` and ``evaluate_recommender`` (argparse only)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from .model import LOSSES
from .training import DEFAULT_PARAMS


def add_training_arguments(parser) -> None:
    group = parser.add_argument_group("training")
    group.add_argument(
        "--epochs",
        type=int,
        default=DEFAULT_PARAMS["epochs"],
        help="Passes over the data (1-1000, default %(default)s).",
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


def training_params(options: dict) -> dict:
    """The LightFM parameters from parsed options; ``ValueError`` with a message for bad values."""
    if not 1 <= options["epochs"] <= 1000:
        raise ValueError(f"--epochs must be between 1 and 1000, not {options['epochs']}")
    if not 1 <= options["components"] <= 512:
        raise ValueError(f"--components must be between 1 and 512, not {options['components']}")
    if not 0 < options["learning_rate"] <= 10:
        raise ValueError(f"--learning-rate must be above 0 and at most 10, not {options['learning_rate']}")
    return {
        "loss": options["loss"],
        "components": options["components"],
        "epochs": options["epochs"],
        "learning_rate": options["learning_rate"],
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
