"""Interrupted time-series models."""

from analysis.models.its.model import ITSResult, ITSSpec, fit_its

__all__ = ["ITSResult", "ITSSpec", "fit_its"]
