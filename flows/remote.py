"""Sending an idea's experiments to the GPU work pool's deployment, and waiting for them to end."""

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, State, StateType
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.states import Cancelled

from aisci import storage
from aisci.errors import BudgetExceeded, ConfigError, ExperimentFailed
from aisci.experiment.folder import SUMMARY_FILE, ExperimentSummary
from aisci.llm import escrow
from aisci.settings import Settings, get_settings

T = TypeVar("T")

POLL_S = 5.0
RESTART_GRACE_S = 60  # how long a Crashed run may wait for the crash automation to schedule it again


def remote_experiment(
    idea_dir: str, max_runs: int, max_attempts: int, gpus: list[int] | None, budget_share: int = 1
):
    """Run the experiment flow on the GPU pool's deployment and wait; None when there is none to use.

    A run whose worker died is Crashed and is started again by the server's crash automation (up to
    `prefect.crash_restarts` times); it resumes from the idea folder where the dead one stopped. Through
    storage, the idea takes an escrow of its share of the budget along (`aisci.llm.escrow`)."""
    settings = get_settings()
    if not settings.prefect.api_url or not settings.prefect.work_pool:
        return None
    name = f"experiment/{settings.prefect.work_pool}"
    with get_client(sync_client=True) as client:
        try:
            deployment = client.read_deployment_by_name(name)
        except ObjectNotFound:
            return None
    folder = Path(idea_dir).resolve()
    if settings.storage_url:
        flow_run = through_storage(
            settings,
            folder,
            budget_share,
            lambda relative: _run_remotely(deployment.id, name, relative, max_runs, max_attempts, gpus),
        )
    else:
        flow_run = _run_remotely(deployment.id, name, idea_dir, max_runs, max_attempts, gpus)
    if not flow_run.state.is_completed():
        raise ended_error(flow_run.name, flow_run.state)
    return ExperimentSummary.model_validate_json((folder / SUMMARY_FILE).read_text())


def ended_error(name: str, state: State) -> Exception:
    """What a remote run that did not complete means here: one that ran out of budget stops the idea (a
    higher budget resumes it), any other ending fails it. The state's message names the exception."""
    ended = f"{name} ended {state.name}: {state.message}"
    if f"{BudgetExceeded.__name__}:" in (state.message or ""):
        return BudgetExceeded(ended, hint="everything so far is saved; resume with a higher budget")
    return ExperimentFailed(ended)


def through_storage(settings: Settings, folder: Path, budget_share: int, run: Callable[[str], T]) -> T:
    """`run` the folder's stage on a host that finds it in storage, at the same place in its workspace
    (`run` gets that relative path): pushed with an escrow of its share of the budget, pulled back after,
    failed or not, and the escrow settled at what the stage spent."""
    held = escrow.open_escrow(settings, folder, budget_share)
    pushed = pulled = False
    try:
        storage.push(settings, folder)
        pushed = True
        try:
            result = run(folder.relative_to(settings.workspace.expanduser().resolve()).as_posix())
        finally:
            storage.pull(settings, folder)
            pulled = True
    finally:
        if held:  # a folder that went and never came back may have spent all it took along
            spent = escrow.close_escrow(folder, held, all_of_it=pushed and not pulled)
            print(f"{folder.name}: its experiments spent ${spent:.4f} of the ${held.usd:.4f} sent along")
    return result


def _run_remotely(
    deployment_id: UUID, name: str, idea_dir: str, max_runs: int, max_attempts: int, gpus: list[int] | None
) -> FlowRun:
    parameters = {"idea_dir": idea_dir, "max_runs": max_runs, "max_attempts": max_attempts, "gpus": gpus}
    running = _unfinished(deployment_id, idea_dir)  # a restarted idea joins the run its crashed self began
    return wait_for_run(running.id if running else run_deployment(name, parameters=parameters, timeout=0).id)


def _unfinished(deployment_id: UUID, idea_dir: str) -> FlowRun | None:
    unfinished = FlowRunFilter(
        state=FlowRunFilterState(
            type=FlowRunFilterStateType(any_=[StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING])
        )
    )
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=unfinished,
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
        )
    return next((r for r in runs if r.parameters.get("idea_dir") == idea_dir), None)


def wait_for_run(flow_run_id: UUID) -> FlowRun:
    """The run once it ends for good: Crashed counts only when no restart follows. A run that no worker
    starts within `prefect.pickup_timeout_s` is cancelled, so it cannot start later unseen."""
    options = get_settings().prefect
    scheduled_since = crashed_since = None
    with get_client(sync_client=True) as client:
        while True:
            flow_run = client.read_flow_run(flow_run_id)
            state, now = flow_run.state, time.monotonic()
            scheduled_since = (scheduled_since or now) if state.is_scheduled() else None
            crashed_since = (crashed_since or now) if state.is_crashed() else None
            if state.is_final() and not state.is_crashed():
                return flow_run
            if crashed_since and (
                flow_run.run_count > options.crash_restarts or now - crashed_since > RESTART_GRACE_S
            ):
                return flow_run
            if scheduled_since and now - scheduled_since > options.pickup_timeout_s:
                client.set_flow_run_state(
                    flow_run_id, Cancelled(message="no worker picked it up"), force=True
                )
                raise ConfigError(
                    f"no worker of pool {flow_run.work_pool_name} picked up {flow_run.name} within "
                    f"{options.pickup_timeout_s:.0f} s",
                    hint=f"start one (aisci worker --pool {flow_run.work_pool_name}), then Retry the "
                    "idea: its folder is kept and it resumes where it stopped",
                )
            time.sleep(POLL_S)
