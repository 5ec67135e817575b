"""PD master scale: risk grades by upper PD bound, kept as data (JSON) rather than code.

JR/T 0269 9.2.2 b: the model quantifies risk grade and probability of default.
"""

from __future__ import annotations

import bisect
import itertools
from importlib import resources
from pathlib import Path

import msgspec
import numpy as np
import numpy.typing as npt

from puhui.risk.scorecard.errors import ModelFileError

__all__ = ["Grade", "MasterScale", "default_master_scale", "load_master_scale"]


class Grade(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A risk grade covering PDs above the previous grade's bound up to and including `pd_upper`."""

    grade: str
    pd_upper: float


class MasterScale(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Ordered grades from best to worst; the last bound is 1.0 so every PD has a grade."""

    name: str
    grades: tuple[Grade, ...]

    def __post_init__(self) -> None:
        if not self.grades:
            raise ValueError("a master scale needs at least one grade")
        uppers = [grade.pd_upper for grade in self.grades]
        if any(b <= a for a, b in itertools.pairwise(uppers)) or uppers[0] <= 0:
            raise ValueError("grade PD bounds must be positive and strictly increasing")
        if uppers[-1] != 1.0:
            raise ValueError("the last grade must reach PD 1.0")
        if len({grade.grade for grade in self.grades}) != len(self.grades):
            raise ValueError("grade names must be unique")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(grade.grade for grade in self.grades)

    def index_of(self, pd: float) -> int:
        """Index of the grade of one PD."""
        uppers = [grade.pd_upper for grade in self.grades]
        return min(bisect.bisect_left(uppers, pd), len(uppers) - 1)

    def grade_of(self, pd: float) -> str:
        return self.grades[self.index_of(pd)].grade

    def indices_of(self, pds: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
        """Grade index of many PDs at once."""
        uppers = np.array([grade.pd_upper for grade in self.grades], dtype=np.float64)
        found = np.searchsorted(uppers, pds, side="left")
        clipped: npt.NDArray[np.intp] = np.minimum(found, uppers.shape[0] - 1).astype(np.intp)
        return clipped


def load_master_scale(path: Path | str) -> MasterScale:
    """Read a master scale file: {"name": …, "grades": [{"grade": "A1", "pd_upper": 0.005}, …]}."""
    try:
        return msgspec.json.decode(Path(path).read_bytes(), type=MasterScale)
    except OSError as exc:
        raise ModelFileError(f"cannot read master scale {path}: {exc.strerror or exc}") from exc
    except msgspec.DecodeError as exc:
        raise ModelFileError(f"master scale {path} is invalid: {exc}") from exc


def default_master_scale() -> MasterScale:
    """The bank's default SME master scale shipped with the platform."""
    data = resources.files("puhui.risk.scorecard").joinpath("master_scale.json").read_bytes()
    return msgspec.json.decode(data, type=MasterScale)
