"""What `aisci deploy` and `aisci up` set up on a Prefect server.

Work pools (one for the CPU flows, one for GPU hosts) whose flow runs send heartbeats; an automation that
marks a run Crashed when its heartbeats stop (a worker or host died) and one that schedules a Crashed
deployment run of aisci again, so that no waiting client is needed; one concurrency limit per GPU of this
host; and the deployments of deployments/prefect.yaml, the sweep's template a choice of those that exist.
Each step checks what exists first, so running it again changes nothing.
"""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
from prefect.automations import Automation
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import DeploymentUpdate, WorkPoolCreate
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification
from prefect.exceptions import ObjectNotFound
from prefect.workers.process import ProcessWorker

from aisci.errors import ConfigError
from aisci.settings import Settings
from aisci.templates import available
from tasks.gpu import ensure_gpu_limits

PROJECT_DIR = Path(__file__).resolve().parents[1]
PREFECT_FILE = PROJECT_DIR / "deployments" / "prefect.yaml"
AUTOMATION = "aisci: crash flow runs whose heartbeats stopped"
RESTART = "aisci: restart crashed flow runs"
FLOWS = ["sweep", "idea", "experiment", "review"]


def pools(settings: Settings) -> list[str]:
    return [settings.prefect.cpu_pool, settings.prefect.work_pool or settings.prefect.cpu_pool]


def ensure_pools(names: list[str], heartbeat_s: int) -> None:
    """Process pools whose runs send heartbeats (without them a dead run stays Running for ever)."""
    template = ProcessWorker.get_default_base_job_template()
    template["variables"]["properties"]["env"]["default"] = {
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(heartbeat_s)
    }
    with get_client(sync_client=True) as client:
        for name in dict.fromkeys(names):
            try:
                client.read_work_pool(name)
            except ObjectNotFound:
                client.create_work_pool(WorkPoolCreate(name=name, type="process", base_job_template=template))


def _replace(automation: Automation | None, name: str) -> None:
    """The automation of this name, as configured now (older ones are deleted; None leaves none)."""
    with get_client(sync_client=True) as client:
        for old in client.read_automations_by_name(name):
            client.delete_automation(old.id)
    if automation:
        automation.create()


def ensure_crash_detection(silent_after_s: int) -> None:
    _replace(
        Automation(
            name=AUTOMATION,
            description="A run whose worker or host died stops beating: mark it Crashed, to be restarted.",
            trigger=EventTrigger(
                # From the start of a run too: one killed before its first beat must not stay Running.
                after={"prefect.flow-run.Running", "prefect.flow-run.heartbeat"},
                expect={
                    "prefect.flow-run.heartbeat",
                    "prefect.flow-run.Completed",
                    "prefect.flow-run.Failed",
                    "prefect.flow-run.Cancelled",
                    "prefect.flow-run.Crashed",
                },
                match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
                for_each={"prefect.resource.id"},
                posture=Posture.Proactive,
                threshold=1,
                within=timedelta(seconds=silent_after_s),
            ),
            actions=[
                ChangeFlowRunState(
                    state=StateType.CRASHED,
                    message=f"no heartbeat for {silent_after_s} s: the worker was lost",
                )
            ],
        ),
        AUTOMATION,
    )


def ensure_crash_restarts(restarts: int) -> None:
    """Crashed runs of aisci's deployments go back to Scheduled, where a worker takes them again; a run's
    run count (1 for its first start) bounds how often. A subflow (an idea inside a sweep) restarts with its
    parent, and a run that crashes before it starts (its code cannot load) is left Crashed."""
    _replace(
        Automation(
            name=RESTART,
            description=f"Start a Crashed aisci flow run again, up to {restarts} times.",
            trigger=EventTrigger(
                expect={"prefect.flow-run.Crashed"},
                match=ResourceSpecification(
                    {
                        "prefect.resource.id": "prefect.flow-run.*",
                        "prefect.run-count": [str(n) for n in range(1, restarts + 1)],
                    }
                ),
                match_related=[
                    ResourceSpecification({"prefect.resource.role": "flow", "prefect.resource.name": FLOWS}),
                    ResourceSpecification({"prefect.resource.role": "deployment"}),
                ],
                posture=Posture.Reactive,
                threshold=1,
            ),
            actions=[
                ChangeFlowRunState(
                    state=StateType.SCHEDULED,
                    name="AwaitingRetry",
                    message="restarted after a crash; it resumes from its idea folders",
                    force=True,
                )
            ],
        )
        if restarts
        else None,
        RESTART,
    )


def apply_deployments(settings: Settings) -> None:
    env = dict(
        os.environ,
        AISCI_PROJECT_DIR=str(PROJECT_DIR),
        AISCI_CPU_POOL=settings.prefect.cpu_pool,
        AISCI_GPU_POOL=settings.prefect.work_pool or settings.prefect.cpu_pool,
    )
    command = [
        sys.executable,
        "-m",
        "prefect",
        "--no-prompt",
        "deploy",
        "--all",
        "--prefect-file",
        str(PREFECT_FILE),
    ]
    done = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise ConfigError(f"prefect deploy failed:\n{(done.stdout + done.stderr)[-3000:]}")
    offer_templates("sweep/sweep", sorted(available()))


def offer_templates(deployment: str, templates: list[str]) -> None:
    """The Run form's template a choice of the templates that exist (the flow itself takes folders too)."""
    with get_client(sync_client=True) as client:
        found = client.read_deployment_by_name(deployment)
        schema = dict(found.parameter_openapi_schema)
        schema["properties"]["template"] |= {"enum": templates}
        client.update_deployment(found.id, DeploymentUpdate(parameter_openapi_schema=schema))


def deploy(settings: Settings) -> list[str]:
    """Everything the deployments need on the server named by PREFECT_API_URL; returns what it set up."""
    if not os.environ.get("PREFECT_API_URL"):
        raise ConfigError(
            "deploying needs a Prefect server",
            hint="set AISCI_PREFECT__API_URL, or run `aisci up` for a local one",
        )
    names = list(dict.fromkeys(pools(settings)))
    ensure_pools(names, settings.prefect.heartbeat_s)
    ensure_crash_detection(settings.prefect.crashed_after_s)
    ensure_crash_restarts(settings.prefect.crash_restarts)
    ensure_gpu_limits(settings.gpus)
    apply_deployments(settings)
    gpus = ", ".join(map(str, settings.gpus)) or "none (set AISCI_GPUS on GPU hosts)"
    return [
        f"work pools: {', '.join(names)}",
        f"crash detection: {AUTOMATION}; {RESTART} (up to {settings.prefect.crash_restarts} times)",
        f"GPU concurrency limits of this host: {gpus}",
        f"deployments: sweep/sweep, idea/idea, experiment/{names[-1]}, review/review",
    ]


def start_server(home: Path, port: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    """A Prefect server on loopback, its SQLite database under `home` unless `env` names another (such as
    PREFECT_API_DATABASE_CONNECTION_URL for PostgreSQL); returns once it answers."""
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", **(env or {}))
    env.pop("PREFECT_API_URL", None)
    url = f"http://127.0.0.1:{port}/api"
    env.setdefault("PREFECT_UI_API_URL", url)  # else the UI in the browser calls the default port, 4200
    log = (home / "server.log").open("ab")
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise ConfigError(
                f"the Prefect server exited (code {server.returncode})", hint=f"see {home}/server.log"
            )
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(1)
    server.terminate()
    raise ConfigError("the Prefect server did not answer within 180 s", hint=f"see {home}/server.log")


def worker_command(pool: str) -> list[str]:
    """A process worker for `pool`; run it in PROJECT_DIR, where the deployments' entrypoints are."""
    return [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--type", "process"]


def start_worker(
    pool: str, api_url: str, log_dir: Path, env: dict[str, str] | None = None
) -> subprocess.Popen:
    env = dict(os.environ, PREFECT_API_URL=api_url, AISCI_PREFECT__API_URL=api_url, **(env or {}))
    log = (log_dir / f"worker-{pool}.log").open("ab")
    return subprocess.Popen(
        worker_command(pool),
        cwd=PROJECT_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
