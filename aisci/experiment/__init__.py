"""The experiment stage: model-written edits, sandboxed runs, notes and plots; resumable from disk."""

from aisci.experiment.agent import ExperimentAgent, ExperimentStep, Limits
from aisci.experiment.folder import Attempt, completed_runs, next_run

__all__ = ["Attempt", "ExperimentAgent", "ExperimentStep", "Limits", "completed_runs", "next_run"]
