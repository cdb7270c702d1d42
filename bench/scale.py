"""Many small ideas at scale: a Prefect server on PostgreSQL, aisci deployed to it, several process workers,
and N `idea` deployment runs triggered at once; prints the makespan, the speedup over running the ideas one
after another, and ideas per minute.

    AISCI_TEST_DATABASE_URL=$(scripts/postgres.sh) .venv/bin/python bench/scale.py [--ideas 8] [--workers 3]

Without a database URL the server uses SQLite.
"""

import argparse
import os
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from scripted_server import ScriptedServer  # noqa: E402
from toy_template import EXPERIMENT_RULES, REVIEW, make_toy_template, save_toy_idea  # noqa: E402
from writeup_fixture import script as writeup_script  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ideas", type=int, default=8)
    parser.add_argument(
        "--workers", type=int, default=3, help="workers on the CPU pool (and as many for GPUs)"
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="aisci-scale-"))
    database = os.environ.get("AISCI_TEST_DATABASE_URL")
    from flows.infrastructure import deploy, start_server, start_worker

    port = free_port()
    server = start_server(
        root / "server", port, {"PREFECT_API_DATABASE_CONNECTION_URL": database} if database else {}
    )
    api = f"http://127.0.0.1:{port}/api"
    children = [server]
    rules = [*EXPERIMENT_RULES, {"role": "review", "reply": REVIEW}, *writeup_script()]
    try:
        with ScriptedServer(rules) as model:
            env = {
                "AISCI_WORKSPACE": str(root / "ws"),
                "AISCI_SANDBOX_BACKEND": "local",
                "AISCI_MODELS__DEFAULT": "openai/scripted",
                "AISCI_LLM__API_BASE": model.url,
            }
            os.environ.update(env, PREFECT_API_URL=api, AISCI_PREFECT__API_URL=api)
            from prefect.client.orchestration import get_client
            from prefect.deployments import run_deployment
            from prefect.settings import PREFECT_API_URL, temporary_settings

            from aisci.settings import get_settings

            # prefect was imported before the server ran, so its settings are switched here
            with temporary_settings(updates={PREFECT_API_URL: api}):
                deploy(get_settings())
                for pool in ("aisci", "gpu"):
                    children += [start_worker(pool, api, root, env) for _ in range(args.workers)]
                template = make_toy_template(root / "toy")
                ideas = [
                    save_toy_idea(root / "ws", str(template), "scale", f"idea_{i}") for i in range(args.ideas)
                ]
                options = {"max_runs": 2, "review": {"ensemble": 1, "reflections": 0}}
                started = time.perf_counter()
                runs = [
                    run_deployment(
                        "idea/idea", parameters={"idea_dir": str(i), "options": options}, timeout=0
                    )
                    for i in ideas
                ]
                with get_client(sync_client=True) as client:
                    while True:
                        states = [client.read_flow_run(r.id) for r in runs]
                        if all(s.state.is_final() for s in states):
                            break
                        time.sleep(2)
            makespan = time.perf_counter() - started
            completed = [s for s in states if s.state.is_completed()]
            durations = [s.total_run_time.total_seconds() for s in completed]
    finally:
        for child in reversed(children):
            os.killpg(child.pid, signal.SIGTERM)
    mean = sum(durations) / max(len(durations), 1)
    print(f"database:                  {'PostgreSQL' if database else 'SQLite'}")
    print(f"ideas completed:           {len(completed)} of {args.ideas}, {args.workers} workers per pool")
    print(f"idea run time:             {mean:.1f} s mean (each idea's flow run, start to end)")
    print(f"makespan:                  {makespan:.1f} s; one after another: {sum(durations):.1f} s")
    print(f"speedup:                   {sum(durations) / makespan:.2f}x")
    print(f"throughput:                {60 * len(completed) / makespan:.1f} ideas/min")


if __name__ == "__main__":
    main()
