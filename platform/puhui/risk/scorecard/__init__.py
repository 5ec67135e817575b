"""Credit scorecards: WOE binning, logistic regression, points scaling, PD and risk grades.

JR/T 0269 9.2.2 b: a scorecard quantifying the enterprise's risk grade and probability of default.
Training is `train_scorecard`; serving is `ScorecardModel.load(path).score(features)`.
"""

from puhui.risk.scorecard.dataset import Dataset, load_csv
from puhui.risk.scorecard.errors import (
    ModelFileError,
    ScorecardDataError,
    ScorecardError,
    ScoringInputError,
)
from puhui.risk.scorecard.export import ScorecardFiles, write_scorecard
from puhui.risk.scorecard.master_scale import MasterScale, default_master_scale, load_master_scale
from puhui.risk.scorecard.model import BatchScores, ReasonCode, ScorecardModel, ScoreResult
from puhui.risk.scorecard.scaling import PointsScaling
from puhui.risk.scorecard.training import TrainingConfig, TrainingOutcome, train_scorecard

__all__ = [
    "BatchScores",
    "Dataset",
    "MasterScale",
    "ModelFileError",
    "PointsScaling",
    "ReasonCode",
    "ScoreResult",
    "ScorecardDataError",
    "ScorecardError",
    "ScorecardFiles",
    "ScorecardModel",
    "ScoringInputError",
    "TrainingConfig",
    "TrainingOutcome",
    "default_master_scale",
    "load_csv",
    "load_master_scale",
    "train_scorecard",
    "write_scorecard",
]
