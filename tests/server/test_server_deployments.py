"""aisci on a real Prefect server with real process workers: deploy, trigger with parameters, Retry as the UI
does it, and a worker killed in the middle of an experiment."""

import contextvars
import json
import os
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from idea_fixtures import SEEDS, sweep_rules
from toy_template import EXPERIMENT_RULES, REVIEW, make_toy_template, save_toy_idea
from waiting import wait_for
from writeup_fixture import script as writeup_script

from aisci import idea_folder
from aisci.sandbox._supervisor import descendants
from aisci.settings import get_settings

WAIT_BASELINE = 'from pathlib import Path\nimport time\nwhile Path("slow.txt").exists():\n    time.sleep(1)\n'
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


def kill_tree(pid: int) -> None:
    for child in [pid, *descendants(pid)]:
        os.kill(child, signal.SIGKILL)


def wait_final(client, flow_run_id, timeout: float = 600):
    return wait_for(
        lambda: (r := client.read_flow_run(flow_run_id)).state.is_final() and r,
        timeout=timeout,
        every=3,
        what="the flow run to end",
    )


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
        assert len(client.read_automations_by_name("aisci: restart crashed flow runs")) == 1


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


def test_a_killed_worker_leaves_a_crashed_run_that_the_server_starts_again(
    deployed, workers, scripted, isolated
):
    """No client waits on the run: the server's automations mark it Crashed and schedule it again."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    template = make_toy_template(isolated / "toy")
    (template / "experiment.py").write_text(WAIT_BASELINE + (template / "experiment.py").read_text())
    folder = save_toy_idea(deployed["AISCI_WORKSPACE"], str(template), "server-sweep")
    idea_folder.prepare(folder, deployed["AISCI_WORKSPACE"])
    scripted.add(*EXPERIMENT_RULES)
    (folder / "slow.txt").write_text("wait in the baseline")
    doomed = workers("gpu", **deployed)
    parameters = {"idea_dir": str(folder), "max_runs": 1, "max_attempts": 1}
    run = run_deployment("experiment/gpu", parameters=parameters, timeout=0)
    wait_for(lambda: (folder / "run_0").is_dir(), timeout=300, what="the baseline to start")
    kill_tree(doomed.pid)
    (folder / "slow.txt").unlink()
    workers("gpu", **deployed)
    with get_client(sync_client=True) as client:
        final = wait_for(
            lambda: (r := client.read_flow_run(run.id)).state.is_completed() and r,
            timeout=600,
            every=5,
            what="the restarted run to complete",
        )
        history = [s.name for s in client.read_flow_run_states(run.id)]
    assert "Crashed" in history and final.run_count == 2, history
    assert any(p.name.startswith("run_0.failed-") for p in folder.iterdir())  # the killed attempt is kept


def test_a_sweep_whose_worker_was_killed_resumes_without_redoing_its_ideas(
    deployed, workers, scripted, isolated
):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey
    from prefect.deployments import run_deployment

    template = make_toy_template(isolated / "templates" / "toy")
    (template / "seed_ideas.json").write_text(json.dumps(SEEDS))
    (template / "experiment.py").write_text(WAIT_BASELINE + (template / "experiment.py").read_text())
    (template / "slow.txt").write_text("wait in the baseline")  # copied into the idea folder
    scripted.add(*sweep_rules())
    options = {
        "num_ideas": 1,
        "reflections": 0,
        "top_k": 1,
        "novelty": {"rounds": 2, "s2": {"api_url": "http://127.0.0.1:9", "max_retries": 0, "timeout_s": 2}},
        "idea": {"max_runs": 1, "max_attempts": 1, "review": {"ensemble": 1, "reflections": 0}},
    }
    doomed = workers("aisci", **deployed)
    workers("gpu", **deployed)
    sweep = run_deployment(
        "sweep/sweep", parameters={"template": str(template), "options": options}, timeout=0
    )
    workspace = Path(deployed["AISCI_WORKSPACE"])
    baseline = wait_for(
        lambda: next(workspace.glob("*-toy/ema_weights/run_0"), None),
        timeout=300,
        what="the baseline to start",
    )
    kill_tree(doomed.pid)
    killed_at = time.monotonic()
    (baseline.parent / "slow.txt").unlink()
    workers("aisci", **deployed)
    with get_client(sync_client=True) as client:
        wait_for(
            lambda: client.read_flow_run(sweep.id).run_count == 2,
            timeout=300,
            every=2,
            what="the sweep to restart",
        )
        restarted_s = time.monotonic() - killed_at
        final = wait_final(client, sweep.id)
        finished_s = time.monotonic() - killed_at
        history = [s.name for s in client.read_flow_run_states(sweep.id)]
        summaries = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["sweep-summary"]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[sweep.id]),
            )
        )
    print(
        f"a crashed sweep ran again {restarted_s:.0f} s and finished {finished_s:.0f} s after its worker died"
    )
    assert final.state.is_completed() and "Crashed" in history, history
    # the result was pickled by the worker's `sweep` module: the summary artifact is what a person reads
    assert "| ema_weights | done |" in max(summaries, key=lambda a: a.created).data
    asked = [r for r in scripted.requests if "Propose idea 1 of 1" in json.dumps(r)]
    assert len(asked) == 1  # the ideas were not generated again
    assert len(list(workspace.glob("*-toy"))) == 1  # the same sweep folder


def test_an_idea_whose_experiments_no_worker_picks_up_fails_saying_so(
    deployed, scripted, isolated, aisci_env
):
    from prefect.client.orchestration import get_client

    from aisci.errors import ConfigError
    from flows.remote import remote_experiment

    folder = save_toy_idea(deployed["AISCI_WORKSPACE"], str(make_toy_template(isolated / "toy")), "no-worker")
    aisci_env(**deployed, AISCI_PREFECT__PICKUP_TIMEOUT_S=8)
    with pytest.raises(ConfigError, match="no worker of pool gpu picked up"):
        remote_experiment(str(folder), 1, 1, None)
    with get_client(sync_client=True) as client:
        assert [r.state.name for r in flow_runs(client, "experiment/gpu", folder)] == ["Cancelled"]
    assert (folder / "idea.json").is_file()


def test_two_gpus_hold_one_experiment_each_and_a_third_waits(on_server):
    from tasks.gpu import gpu_slot

    held: list[list[int]] = []
    release = threading.Event()
    lock = threading.Lock()

    def experiment():
        with gpu_slot(None, [0, 1]) as gpus:
            with lock:
                held.append(gpus)
            release.wait(timeout=120)

    threads = [threading.Thread(target=contextvars.copy_context().run, args=(experiment,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    wait_for(lambda: len(held) == 2, timeout=60, what="two experiments to hold a GPU")
    time.sleep(8)  # the third polls every POLL_S: it must still be waiting
    assert sorted(held) == [[0], [1]]
    release.set()
    for thread in threads:
        thread.join(timeout=120)
    assert len(held) == 3 and held[2] in ([0], [1])


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
