"""`aisci deploy` and `aisci up`: aisci on a Prefect server, from one machine to a fleet of GPU hosts."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import Annotated

import typer

from aisci.cli.options import Workspace, settings_for


def deploy(workspace: Workspace = None) -> None:
    """Create the work pools, GPU concurrency limits, crash detection and deployments on the Prefect server
    (AISCI_PREFECT__API_URL). Safe to run again."""
    from aisci import prefect_env

    settings = settings_for(workspace)
    prefect_env.apply(settings)
    from flows.infrastructure import deploy as deploy_all

    for line in deploy_all(settings):
        print(line)


def worker(
    pool: Annotated[str, typer.Option("--pool", help="Work pool to take runs from, e.g. gpu.")],
    workspace: Workspace = None,
) -> None:
    """A Prefect process worker for POOL whose flow runs get aisci's Prefect settings (result storage in the
    workspace, heartbeats); the deployment entry on a GPU host. Ctrl-C stops it."""
    from aisci import prefect_env

    prefect_env.apply(settings_for(workspace))
    from flows.infrastructure import PROJECT_DIR, worker_command

    os.chdir(PROJECT_DIR)
    command = worker_command(pool)
    os.execv(command[0], command)


class Stop(Exception):
    """SIGINT or SIGTERM reached `aisci up`."""


def up(
    port: Annotated[int, typer.Option("--port", help="Port of the Prefect server and UI.")] = 4200,
    files_port: Annotated[
        int | None, typer.Option("--files-port", help="Port of the workspace's read-only files (PORT+1).")
    ] = None,
    workspace: Workspace = None,
) -> None:
    """Start a local Prefect server, deploy aisci to it, start a worker per pool and serve the workspace's
    files read-only (figures and papers in the UI); Ctrl-C or SIGTERM stops them all."""
    from rich.console import Console

    from aisci import prefect_env
    from aisci.file_server import serve

    settings = settings_for(workspace)
    prefect_env.apply(settings)
    from flows.infrastructure import pools, start_server, start_worker

    root = settings.workspace.expanduser().resolve()
    home = root / ".prefect-server"
    console = Console()

    def stop(signum: int, _frame: object) -> None:
        raise Stop(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    children: list[subprocess.Popen] = []
    files = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        files_url = f"http://127.0.0.1:{files_port or port + 1}"
        files = serve(root, files_port or port + 1)
        children.append(start_server(home, port))
        api = f"http://127.0.0.1:{port}/api"
        env = dict(
            os.environ, PREFECT_API_URL=api, AISCI_PREFECT__API_URL=api, AISCI_PREFECT__FILES_URL=files_url
        )
        subprocess.run([sys.executable, "-m", "aisci", "deploy"], env=env, check=True)
        worker_env = {"AISCI_PREFECT__FILES_URL": files_url}
        children += [start_worker(pool, api, home, worker_env) for pool in dict.fromkeys(pools(settings))]
        console.print(f"Prefect UI: http://127.0.0.1:{port}  (logs in {home}); Ctrl-C stops", highlight=False)
        console.print(f"workspace files: {files_url}", highlight=False)
        console.print(f"run a sweep: AISCI_PREFECT__API_URL={api} aisci run --template NAME", highlight=False)
        while all(child.poll() is None for child in children):
            time.sleep(1)
        console.print("[red]a Prefect process exited; stopping[/]")
    except Stop as stopped:
        console.print(f"{stopped}: stopping the workers and the server", highlight=False)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if files:
            files.shutdown()
        stop_all(list(reversed(children)))


def stop_all(children: list[subprocess.Popen], grace_s: float = 20) -> None:
    """SIGTERM to each child's process group, then SIGKILL to whatever is left, flow runs included: a run
    killed here is marked Crashed and restarted when a worker is back."""
    from aisci.sandbox._supervisor import descendants

    pids = [pid for child in children for pid in [child.pid, *descendants(child.pid)]]
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    for child in children:
        child.wait()
