"""A real Prefect server (PostgreSQL when the test script provides one) and real process workers."""

import os
import signal
from dataclasses import dataclass
from pathlib import Path

import pytest
from loopback import free_port


@dataclass
class Server:
    url: str
    home: Path


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    from flows.infrastructure import start_server

    home = tmp_path_factory.mktemp("prefect-server")
    database = os.environ.get("AISCI_TEST_DATABASE_URL")
    env = {"PREFECT_API_DATABASE_CONNECTION_URL": database} if database else {}
    port = free_port()
    server = start_server(home, port, env)
    yield Server(f"http://127.0.0.1:{port}/api", home)
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=60)


@pytest.fixture
def on_server(prefect_server, monkeypatch):
    """This test's Prefect client calls, and the `prefect deploy` it starts, go to the real server."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.setenv("PREFECT_API_URL", prefect_server.url)
    monkeypatch.setenv("AISCI_PREFECT__API_URL", prefect_server.url)
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    with temporary_settings(updates={PREFECT_API_URL: prefect_server.url}):
        yield prefect_server
        # Logs and events of runs made in this process go out now, while the server is up: at exit they
        # would retry against a stopped server for a minute.
        APILogWorker.drain_all(timeout=30)
        EventsWorker.drain_all(timeout=30)


@pytest.fixture
def workers(on_server, tmp_path):
    """Start process workers with the test's environment; all are killed at the end."""
    from flows.infrastructure import start_worker

    started = []

    def start(pool: str, **env: str):
        worker = start_worker(pool, on_server.url, tmp_path, {k: str(v) for k, v in env.items()})
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
