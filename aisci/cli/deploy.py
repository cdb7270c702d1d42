"""`aisci deploy` and `aisci up`: aisci on a Prefect server, from one machine to a fleet of GPU hosts."""

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


def up(
    port: Annotated[int, typer.Option("--port", help="Port of the Prefect server and UI.")] = 4200,
    workspace: Workspace = None,
) -> None:
    """Start a local Prefect server, deploy aisci to it and start a worker per pool; Ctrl-C stops them all."""
    from rich.console import Console

    settings = settings_for(workspace)
    from flows.infrastructure import pools, start_server, start_worker

    home = settings.workspace.expanduser().resolve() / ".prefect-server"
    console = Console()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stopped by a service manager: clean up too
    server = start_server(home, port)
    api = f"http://127.0.0.1:{port}/api"
    children = [server]
    try:
        env = dict(os.environ, PREFECT_API_URL=api, AISCI_PREFECT__API_URL=api)
        subprocess.run([sys.executable, "-m", "aisci", "deploy"], env=env, check=True)
        children += [start_worker(pool, api, home) for pool in dict.fromkeys(pools(settings))]
        console.print(f"Prefect UI: http://127.0.0.1:{port}  (logs in {home}); Ctrl-C stops", highlight=False)
        console.print(f"run a sweep: AISCI_PREFECT__API_URL={api} aisci run --template NAME", highlight=False)
        while all(child.poll() is None for child in children):
            time.sleep(2)
        console.print("[red]a Prefect process exited; stopping[/]")
    except KeyboardInterrupt:
        pass
    finally:
        for child in reversed(children):
            child.terminate()
        for child in children:
            child.wait(timeout=30)
