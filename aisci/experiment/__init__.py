"""The experiment stage: model-written edits, sandboxed runs, notes and plots; resumable from disk."""

from aisci.experiment.context import ExperimentContext, ExperimentStep, Limits
from aisci.experiment.folder import Attempt, completed_runs, next_run

__all__ = ["Attempt", "ExperimentContext", "ExperimentStep", "Limits", "completed_runs", "next_run"]
