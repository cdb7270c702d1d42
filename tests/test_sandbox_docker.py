"""Containment only the docker backend can promise: network, filesystem, processes, ownership, leftovers."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import docker
import pytest
import sandbox_hostile as hostile

from aisci.sandbox import run_sandboxed
from aisci.sandbox.docker_backend import LABEL, container_config, reap_leftovers

IMAGE = "aisci-experiment:cpu"
pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def client():
    """The engine setup.sh started; a missing engine or image fails these tests rather than skipping them."""
    from aisci.sandbox.images import docker_client

    engine = docker_client()
    engine.images.get(IMAGE)
    return engine


def experiment(tmp_path: Path, body: str) -> Path:
    code = tmp_path / "code"
    code.mkdir()
    (code / "experiment.py").write_text(body)
    return code


def run(code: Path, *args: str, timeout_s: float = 30, **kwargs):
    return run_sandboxed(
        code,
        ["python", "experiment.py", "run_0", *args],
        code / "run_0",
        backend="docker",
        image=IMAGE,
        timeout_s=timeout_s,
        **kwargs,
    )


def _host_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 1))
        return probe.getsockname()[0]


def test_no_network_not_even_the_hosts_loopback(client, tmp_path: Path) -> None:
    server = socket.create_server(("0.0.0.0", 0))
    port = server.getsockname()[1]
    accepted = []
    server.settimeout(0.2)

    def accept() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not stop.is_set():
            try:
                accepted.append(server.accept())
            except TimeoutError:
                continue

    stop = threading.Event()
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    code = experiment(tmp_path, hostile.NETWORK)
    result = run(code, str(port), _host_address())
    stop.set()
    thread.join()
    server.close()
    assert result.status == "ok", result
    assert "REACHED" not in result.stdout_tail
    assert result.stdout_tail.count("blocked") == 4
    assert accepted == []


def test_code_is_read_only_and_only_the_output_folder_is_writable(client, tmp_path: Path) -> None:
    code = experiment(tmp_path, hostile.ESCAPE_WRITES)
    before = (code / "experiment.py").read_text()
    result = run(code)
    assert result.status == "ok", result
    assert "WROTE" not in result.stdout_tail
    assert result.stdout_tail.count("refused") == 5
    assert (code / "experiment.py").read_text() == before
    assert not (code / "planted.py").exists()
    assert (code / "run_0" / "ok.txt").read_text() == "allowed"
    assert "uid 0" not in result.stdout_tail


def test_fork_bomb_is_capped_by_the_pids_limit(client, tmp_path: Path) -> None:
    code = experiment(tmp_path, hostile.FORK_BOMB)
    started = time.monotonic()
    result = run(code, timeout_s=4, pids=64)
    assert result.status == "timeout", result
    assert time.monotonic() - started < 4 + 2 + 10
    assert client.containers.list(all=True, filters={"label": LABEL}) == []


def test_private_code_folder_and_host_ownership(client, tmp_path: Path) -> None:
    code = experiment(tmp_path, hostile.GOOD)
    code.chmod(0o700)
    (code / "experiment.py").chmod(0o600)
    result = run(code)
    assert result.status == "ok", result
    owner = code.stat().st_uid
    assert (code / "run_0").stat().st_uid == owner
    assert (code / "run_0" / "final_info.json").stat().st_uid == owner
    assert oct(code.stat().st_mode & 0o777) == "0o700"


def test_files_planted_by_earlier_runs_cannot_block_the_staging_copy(client, tmp_path: Path) -> None:
    code = experiment(tmp_path, hostile.GOOD)
    (code / "run_prev").mkdir()
    os.mkfifo(code / "run_prev" / "trap")
    (code / "run_prev" / "passwd").symlink_to("/etc/passwd")
    result = run(code, timeout_s=20)
    assert result.status == "ok", result


def test_leftover_containers_are_reaped_at_the_next_run(client, tmp_path: Path) -> None:
    stale = client.containers.run(
        IMAGE,
        ["python", "-c", "import time; time.sleep(600)"],
        detach=True,
        network_mode="none",
        labels={LABEL: "1", f"{LABEL}.host": "elsewhere", f"{LABEL}.pid": "1", f"{LABEL}.deadline": "1"},
    )
    try:
        assert stale.name in reap_leftovers(client)
        code = experiment(tmp_path, hostile.GOOD)
        assert run(code).status == "ok"
        assert client.containers.list(all=True, filters={"label": LABEL}) == []
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            stale.remove(force=True)


def test_gpus_become_nvidia_device_requests(tmp_path: Path) -> None:
    config = container_config(
        image=IMAGE,
        argv=["python", "experiment.py"],
        code_copy=tmp_path,
        out_dir=tmp_path / "run_0",
        out_rel=Path("run_0"),
        env={},
        memory_mb=1024,
        cpus=2,
        pids=128,
        gpus=[0, 3],
        deadline=time.time() + 60,
    )
    (request,) = config["device_requests"]
    assert request["DeviceIDs"] == ["0", "3"]
    assert request["Capabilities"] == [["gpu"]]
    assert config["network_mode"] == "none" and config["read_only"] and config["cap_drop"] == ["ALL"]


def test_cli_prints_the_result_as_json_on_its_last_line(client, tmp_path: Path) -> None:
    code = experiment(tmp_path, "import sys\nprint('hello')\nsys.exit(3)\n")
    cli = [sys.executable, "-m", "aisci", "sandbox", "run", "--code", str(code), "--out-dir", "run_0"]
    proc = subprocess.run(
        [*cli, "--timeout", "30", "--memory", "1g", "--", "python", "experiment.py"],
        capture_output=True,
        text=True,
        env={**os.environ, "AISCI_SANDBOX_IMAGE": IMAGE},
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == "failed" and result["returncode"] == 3
    assert result["stdout_tail"] == "hello\n"
    assert set(result) >= {"status", "returncode", "duration_s", "stdout_tail", "stderr_tail"}
