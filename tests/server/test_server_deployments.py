"""aisci on a real Prefect server with real process workers: deploy, trigger with parameters, Retry as the UI
does it, and a worker killed in the middle of an experiment."""

import contextvars
import json
import os
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from toy_template import EXPERIMENT_RULES, REVIEW, make_toy_template, save_toy_idea
from waiting import wait_for
from writeup_fixture import script as writeup_script

from aisci import idea_folder
from aisci.sandbox._supervisor import descendants
from aisci.settings import get_settings

SLOW_BASELINE = 'from pathlib import Path\nimport time\nif Path("slow.txt").exists():\n    time.sleep(600)\n'


@pytest.fixture
def deployed(on_server, isolated, scripted, aisci_env):
    """Deployments on the server; the environment the workers run flows with."""
    from flows.infrastructure import deploy

    workspace = isolated / "ws"
    aisci_env(AISCI_WORKSPACE=workspace, AISCI_PREFECT__CRASHED_AFTER_S=75)
    deploy(get_settings())
    return {
        "AISCI_WORKSPACE": workspace,
        "AISCI_SANDBOX_BACKEND": "local",
        "AISCI_MODELS__DEFAULT": "openai/scripted",
        "AISCI_LLM__API_BASE": scripted.url,
        "AISCI_RUN_TIMEOUT_S": 700,
    }


def flow_runs(client, deployment: str, idea_dir: Path):
    """The runs of a deployment for one idea (the server is shared by the session's tests)."""
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    found = client.read_deployment_by_name(deployment)
    runs = client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[found.id])))
    return [r for r in runs if r.parameters.get("idea_dir") == str(idea_dir)]


def test_deploy_is_idempotent_and_the_sweep_schedule_starts_inactive(deployed):
    from prefect.client.orchestration import get_client

    from flows.infrastructure import deploy

    deploy(get_settings())
    with get_client(sync_client=True) as client:
        sweep = client.read_deployment_by_name("sweep/sweep")
        assert [s.active for s in sweep.schedules] == [False]
        assert "options" in sweep.parameter_openapi_schema["properties"]
        assert client.read_deployment_by_name("experiment/gpu").work_pool_name == "gpu"
        pool = client.read_work_pool("aisci")
        assert pool.base_job_template["variables"]["properties"]["env"]["default"] == {
            "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30"
        }
        assert len(client.read_automations_by_name("aisci: crash flow runs whose heartbeats stopped")) == 1


def test_retry_from_the_ui_reruns_only_the_failed_stage(deployed, workers, scripted, isolated):
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.states import Scheduled

    folder = save_toy_idea(
        deployed["AISCI_WORKSPACE"], str(make_toy_template(isolated / "toy")), "server-sweep"
    )
    scripted.add(
        *EXPERIMENT_RULES, {"role": "review", "status": 401, "message": "key revoked"}, *writeup_script()
    )
    workers("aisci", **deployed)
    workers("gpu", **deployed)
    options = {"max_runs": 2, "review": {"ensemble": 1, "reflections": 0}}
    run = run_deployment("idea/idea", parameters={"idea_dir": str(folder), "options": options}, timeout=600)
    assert run.state.is_failed(), run.state
    assert (folder / "paper.pdf").is_file()

    scripted.rules.clear()
    scripted.add({"role": "review", "reply": REVIEW})
    retried_at = datetime.now(UTC)
    with get_client(sync_client=True) as client:
        assert [r.state.name for r in flow_runs(client, "experiment/gpu", folder)] == ["Completed"]
        client.set_flow_run_state(
            run.id, Scheduled(name="AwaitingRetry", message="Retry from the UI"), force=True
        )
        final = wait_for(
            lambda: (r := client.read_flow_run(run.id)).state.is_final() and r.run_count > 1 and r,
            timeout=600,
            every=3,
            what="the retried run to finish",
        )
        assert final.state.is_completed(), final.state
        after = [
            t
            for t in client.read_task_runs()
            if t.flow_run_id == run.id and t.start_time and t.start_time > retried_at
        ]
        states = {t.name.rsplit("-", 1)[0]: t.state.name for t in after}
        assert states["experiments"] == "Cached" and states["writeup"] == "Cached"
        assert states["review"] == "Completed"
        assert len(flow_runs(client, "experiment/gpu", folder)) == 1  # the GPU job was not run again
    assert json.loads((folder / "review.json").read_text())["decision"] == "Reject"


def test_a_killed_worker_leaves_a_crashed_run_that_is_started_again(
    deployed, workers, scripted, isolated, aisci_env
):
    from prefect.client.orchestration import get_client

    from flows.gpu import remote_experiment

    template = make_toy_template(isolated / "toy")
    (template / "experiment.py").write_text(SLOW_BASELINE + (template / "experiment.py").read_text())
    folder = save_toy_idea(deployed["AISCI_WORKSPACE"], str(template), "server-sweep")
    idea_folder.prepare(folder, deployed["AISCI_WORKSPACE"])
    scripted.add(*EXPERIMENT_RULES)
    (folder / "slow.txt").write_text("sleep in the baseline")
    aisci_env(**deployed)
    outcome: dict = {}
    context = contextvars.copy_context()  # the thread talks to the test server too
    waiter = threading.Thread(
        target=context.run,
        args=(lambda: outcome.update(summary=remote_experiment(str(folder), 1, 1, None)),),
        daemon=True,
    )
    doomed = workers("gpu", **deployed)
    waiter.start()
    wait_for(lambda: (folder / "run_0").is_dir(), timeout=300, what="the baseline to start")
    for pid in [doomed.pid, *descendants(doomed.pid)]:
        os.kill(pid, signal.SIGKILL)
    (folder / "slow.txt").unlink()
    with get_client(sync_client=True) as client:
        wait_for(
            lambda: any(r.state.is_crashed() for r in flow_runs(client, "experiment/gpu", folder)),
            timeout=300,
            every=5,
            what="the dead run to be marked Crashed",
        )
    workers("gpu", **deployed)
    waiter.join(timeout=600)
    assert outcome.get("summary") is not None
    with get_client(sync_client=True) as client:
        names = sorted(r.state.name for r in flow_runs(client, "experiment/gpu", folder))
    assert "Crashed" in names and names.count("Completed") >= 1
    assert any(p.name.startswith("run_0.failed-") for p in folder.iterdir())  # the killed attempt is kept


def test_a_long_run_started_from_a_terminal_is_not_taken_for_dead(deployed, scripted, isolated, aisci_env):
    """Runs outside workers beat at the automation's rate too; at Prefect's 180 s default they'd crash."""
    from prefect.client.orchestration import get_client

    from flows.experiment import run_experiments
    from flows.infrastructure import ensure_crash_detection

    ensure_crash_detection(silent_after_s=60)
    template = make_toy_template(isolated / "toy")
    slow = SLOW_BASELINE.replace("600", "45")  # baseline and run_1: 90 s; one silent minute would crash it
    (template / "experiment.py").write_text(slow + (template / "experiment.py").read_text())
    folder = save_toy_idea(deployed["AISCI_WORKSPACE"], str(template), "terminal")
    idea_folder.prepare(folder, deployed["AISCI_WORKSPACE"])
    (folder / "slow.txt").write_text("sleep in the baseline")
    scripted.add(*EXPERIMENT_RULES)
    aisci_env(**deployed)
    state = run_experiments(str(folder), max_runs=1, return_state=True)
    with get_client(sync_client=True) as client:
        history = [s.name for s in client.read_flow_run_states(state.state_details.flow_run_id)]
    assert "Crashed" not in history and history[-1] == "Completed", history


@pytest.mark.skipif(
    not os.environ.get("AISCI_TEST_DATABASE_URL"), reason="scripts/test.sh provides PostgreSQL"
)
def test_the_server_keeps_its_runs_in_postgresql(deployed):
    import subprocess

    count = subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "aisci",
            "-d",
            "aisci_test",
            "-tAc",
            "SELECT count(*) FROM deployment",
        ],
        env=dict(os.environ, PGPASSWORD="aisci"),
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(count.stdout) >= 4
