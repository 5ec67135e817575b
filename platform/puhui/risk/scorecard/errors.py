"""Errors of the scorecard pipeline: each carries a plain message fit to show a risk analyst."""

from __future__ import annotations

__all__ = ["ModelFileError", "ScorecardDataError", "ScorecardError", "ScoringInputError"]


class ScorecardError(Exception):
    """Base of every scorecard failure; its message is plain language, never a traceback."""


class ScorecardDataError(ScorecardError):
    """The development data cannot build a model: empty file, missing or one-class target, ..."""


class ModelFileError(ScorecardError):
    """A model file is unreadable, malformed or of an unsupported format version."""


class ScoringInputError(ScorecardError):
    """An applicant's feature value cannot be interpreted (e.g. text for a numeric feature)."""
