"""Experiment tasks: the baseline, one task per attempt at a run, and the plots."""

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from aisci.errors import ExperimentFailed
from aisci.experiment import Attempt, ExperimentContext, Limits, plots, runs
from aisci.settings import get_settings
from tasks.policy import TRANSIENT_RETRIES


class AttemptFailed(ExperimentFailed):
    """Marks one attempt's task Failed in the UI; the flow goes on with the next attempt."""


def _context(idea_dir: str, limits: Limits) -> ExperimentContext:
    return ExperimentContext(get_settings(), Path(idea_dir), limits)


# The idea folder is the state: resuming reads it, so these tasks are never served from a cache.
@task(name="baseline", cache_policy=NO_CACHE, **TRANSIENT_RETRIES)
def idea_baseline(idea_dir: str, limits: Limits) -> dict:
    """The idea's run_0 (the unmodified code), unlike a template's baseline (aisci.template_baseline),
    which `prepare` copies in as run_0 when there is one."""
    return runs.ensure_baseline(_context(idea_dir, limits))


@task(name="attempt", cache_policy=NO_CACHE, **TRANSIENT_RETRIES)
def attempt_run(idea_dir: str, run: int, attempt: int, limits: Limits) -> Attempt:
    """Plan, edit and execute one attempt; a failed experiment raises AttemptFailed after it is recorded."""
    outcome = runs.attempt(_context(idea_dir, limits), run, attempt)
    if outcome.status not in ("ok", "done"):
        raise AttemptFailed(f"run_{run} attempt {attempt}: {outcome.status}: {outcome.message[:500]}")
    return outcome


@task(name="plots", cache_policy=NO_CACHE, **TRANSIENT_RETRIES)
def make_plots(idea_dir: str, limits: Limits) -> list[str]:
    return plots.make_figures(_context(idea_dir, limits))
