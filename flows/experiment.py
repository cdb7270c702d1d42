"""The experiment stage of one idea: baseline, up to `max_runs` runs of up to `max_attempts` tries, plots.

Deployed to the GPU work pool; re-running it on an idea folder continues after the last completed run.
"""

from functools import partial
from pathlib import Path

from prefect import flow
from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact

from aisci import storage
from aisci.errors import ExperimentFailed
from aisci.experiment import Limits, completed_runs, next_run
from aisci.experiment.folder import SUMMARY_FILE, ExperimentSummary, failed_attempts
from aisci.files import write_json
from aisci.manifest import write_manifest
from aisci.settings import get_settings
from aisci.storage import idea_path
from flows.display import run_name
from tasks.experiment import AttemptFailed, attempt_run, idea_baseline, make_plots
from tasks.gpu import gpu_slot
from tasks.preflight import preflight_checks


@flow(name="experiment", flow_run_name=partial(run_name, "experiment"), log_prints=True)
def run_experiments(
    idea_dir: str, max_runs: int = 5, max_attempts: int = 4, gpus: list[int] | None = None
) -> ExperimentSummary:
    """The stage as its own flow run: what the GPU work pool runs, and `aisci experiment`."""
    preflight_checks(get_settings(), "experiment")
    return experiments(idea_dir, max_runs, max_attempts, gpus)


def experiments(idea_dir: str, max_runs: int, max_attempts: int, gpus: list[int] | None) -> ExperimentSummary:
    """The stage's tasks in the calling flow run: the idea flow's experiments stage, or the flow above."""
    settings = get_settings()
    folder = idea_path(settings, idea_dir)
    if settings.storage_url:
        print(f"{folder.name}: {storage.pull(settings, folder)} files from {settings.storage_url}")
    summary_file = folder / SUMMARY_FILE
    if summary_file.is_file():
        print(f"{folder.name}: experiments already complete ({SUMMARY_FILE})")
        return ExperimentSummary.model_validate_json(summary_file.read_text())
    try:
        with gpu_slot(gpus, settings.gpus) as held:
            limits = Limits(
                max_runs=max_runs, max_attempts=max_attempts, timeout_s=settings.run_timeout_s, gpus=held
            )
            summary = _experiments(folder, limits)
            write_manifest(folder, settings, held)
        write_json(summary_file, summary.model_dump())
    finally:
        if settings.storage_url:  # failed attempts travel back too
            storage.push(settings, folder)
    return summary


def _experiments(folder: Path, limits: Limits) -> ExperimentSummary:
    max_runs, max_attempts = limits.max_runs, limits.max_attempts
    idea_baseline(str(folder), limits)
    rows: list[dict] = []
    ended_by = f"the run limit ({max_runs})"
    progress = create_progress_artifact(0.0, description=f"Runs of {folder.name} done, of {max_runs}")
    for run in range(next_run(folder), max_runs + 1):
        status = _run_with_attempts(folder, run, limits, rows)
        update_progress_artifact(progress, 100.0 * run / max_runs)
        if status == "done":
            ended_by = f"the model, before run {run}"
            break
        if status == "failed":
            ended_by = f"run {run} failing {max_attempts} attempts"
            break
    if rows:
        create_table_artifact(
            table=rows, key="experiment-attempts", description=f"Attempts for {folder.name}"
        )
    runs = [r for r in completed_runs(folder) if r > 0]
    if not runs:
        raise ExperimentFailed(
            f"{folder.name}: no run succeeded ({ended_by})",
            hint=f"failed attempts are kept in {folder}/run_*.failed-*",
        )
    figures = make_plots(str(folder), limits)
    return ExperimentSummary(idea_dir=str(folder), runs=runs, figures=figures, ended_by=ended_by)


def _run_with_attempts(folder: Path, run: int, limits: Limits, rows: list[dict]) -> str:
    """Attempts at one run until one succeeds ("ok"), the model ends the stage ("done"), or all fail."""
    for _ in range(limits.max_attempts):
        attempt = len(failed_attempts(folder, run)) + 1
        state = attempt_run.with_options(task_run_name=f"run_{run}-attempt_{attempt}")(
            str(folder), run, attempt, limits, return_state=True
        )
        outcome = state.result(raise_on_failure=False)
        if isinstance(outcome, AttemptFailed):
            rows.append({"run": run, "attempt": attempt, "status": "failed", "detail": str(outcome)[:200]})
            continue
        if isinstance(outcome, BaseException):
            raise outcome
        rows.append(
            {"run": run, "attempt": attempt, "status": outcome.status, "detail": outcome.message[:200]}
        )
        return outcome.status
    return "failed"
