"""Hostile experiments under both backends: each must be contained and reported with the right status.

The docker cases need the engine and the image that `scripts/setup.sh` starts and builds; without them they
fail (they are the point of the sandbox), they do not skip.
"""

import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import sandbox_hostile as hostile

from aisci.errors import FinalInfoError, SandboxError
from aisci.sandbox import SandboxResult, read_final_info, run_sandboxed
from aisci.sandbox.local import LocalBackendWarning
from aisci.sandbox.result import TAIL_BYTES

BACKENDS = [pytest.param("docker", marks=pytest.mark.docker), "local"]
IMAGE = "aisci-experiment:cpu"


@pytest.fixture(scope="session")
def docker_ready() -> None:
    """Fail loudly when the engine or image is missing: setup.sh provides both."""
    from aisci.sandbox.images import docker_client

    client = docker_client()
    client.images.get(IMAGE)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "docker":
        request.getfixturevalue("docker_ready")
    return request.param


def experiment(tmp_path: Path, body: str) -> Path:
    code = tmp_path / "code"
    code.mkdir()
    (code / "experiment.py").write_text(body)
    return code


def run(backend: str, code: Path, *args: str, timeout_s: float = 30, **kwargs) -> SandboxResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LocalBackendWarning)
        return run_sandboxed(
            code,
            ["python", "experiment.py", "run_0", *args],
            code / "run_0",
            backend=backend,
            image=IMAGE,
            timeout_s=timeout_s,
            **kwargs,
        )


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_results_round_trip(backend: str, tmp_path: Path) -> None:
    code = experiment(tmp_path, hostile.GOOD)
    result = run(backend, code)
    assert result.status == "ok", result
    assert "wrote results" in result.stdout_tail
    assert read_final_info(code / "run_0") == {
        "baseline": {"means": {"loss": 0.5}, "stderrs": {"loss": 0.01}}
    }


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_host_secrets_never_enter(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", hostile.SECRET)
    code = experiment(tmp_path, hostile.PRINT_ENV)
    result = run(backend, code, env={"SEED": "3"})
    assert result.status == "ok", result
    assert hostile.SECRET not in result.stdout_tail
    assert '"SEED": "3"' in result.stdout_tail
    with pytest.raises(SandboxError, match="OPENAI_API_KEY"):
        run(backend, code, env={"OPENAI_API_KEY": hostile.SECRET})


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_timeout_kills_code_that_ignores_sigterm(backend: str, tmp_path: Path) -> None:
    code = experiment(tmp_path, hostile.IGNORE_SIGTERM)
    started = time.monotonic()
    result = run(backend, code, timeout_s=2)
    assert result.status == "timeout", result
    assert result.returncode is None or result.returncode != 0
    assert "ignoring SIGTERM" in result.stdout_tail
    assert time.monotonic() - started < 2 + 2 + 5


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_detached_descendants_are_killed_and_do_not_hold_the_call(backend: str, tmp_path: Path) -> None:
    code = experiment(tmp_path, hostile.DETACH)
    started = time.monotonic()
    result = run(backend, code, timeout_s=60)
    assert time.monotonic() - started < 15
    assert result.status == "ok", result
    assert "main exits" in result.stdout_tail
    if backend == "local":
        pid = int((code / "run_0" / "daemon.pid").read_text())
        time.sleep(0.2)
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_output_flood_is_bounded(backend: str, tmp_path: Path) -> None:
    code = experiment(tmp_path, hostile.FLOOD)
    result = run(backend, code)
    assert result.status == "ok", result
    assert result.stdout_tail.endswith("THE END\n")
    assert len(result.stdout_tail) <= TAIL_BYTES + 100
    assert "earlier bytes dropped" in result.stdout_tail


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_runaway_memory_is_reported_as_oom(backend: str, tmp_path: Path) -> None:
    code = experiment(tmp_path, hostile.EAT_MEMORY)
    result = run(backend, code, memory_mb=256)
    assert result.status == "oom", result


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_planted_symlink_is_not_followed(backend: str, tmp_path: Path) -> None:
    code = experiment(tmp_path, hostile.PLANT_SYMLINK)
    result = run(backend, code)
    assert result.status == "ok", result
    with pytest.raises(FinalInfoError, match="symlink"):
        read_final_info(code / "run_0")


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_malformed_final_info_is_a_clear_error(backend: str, tmp_path: Path) -> None:
    code = experiment(tmp_path, hostile.MALFORMED)
    result = run(backend, code)
    assert result.status == "ok", result
    with pytest.raises(FinalInfoError, match="not valid JSON"):
        read_final_info(code / "run_0")


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_missing_program_fails_with_127(backend: str, tmp_path: Path) -> None:
    code = experiment(tmp_path, "")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LocalBackendWarning)
        result = run_sandboxed(
            code, ["no-such-program"], code / "run_0", backend=backend, image=IMAGE, timeout_s=10
        )
    assert (result.status, result.returncode) == ("failed", 127), result
    assert "no-such-program" in result.stderr_tail


def test_output_folder_must_be_inside_the_code(tmp_path: Path) -> None:
    code = experiment(tmp_path, hostile.GOOD)
    with pytest.raises(SandboxError, match="not inside the code folder"):
        run_sandboxed(code, ["python"], tmp_path / "elsewhere", backend="local", timeout_s=5)
    with pytest.raises(SandboxError, match="not inside the code folder"):
        run_sandboxed(code, ["python"], Path("../escape"), backend="local", timeout_s=5)
    (code / "link").symlink_to(tmp_path)
    with pytest.raises(SandboxError, match="symlink"):
        run_sandboxed(code, ["python"], Path("link"), backend="local", timeout_s=5)


def test_local_backend_warns_loudly(tmp_path: Path) -> None:
    code = experiment(tmp_path, hostile.GOOD)
    with pytest.warns(LocalBackendWarning, match="only the docker backend isolates"):
        run_sandboxed(
            code, ["python", "experiment.py", "run_0"], code / "run_0", backend="local", timeout_s=30
        )


def test_local_out_dir_swapped_for_a_symlink_is_refused(tmp_path: Path) -> None:
    code = experiment(tmp_path, "import os, shutil\nshutil.rmtree('run_0')\nos.symlink('/etc', 'run_0')\n")
    result = run("local", code)
    assert result.status == "ok", result
    assert os.path.islink(code / "run_0")
    with pytest.raises(FinalInfoError, match="not a real folder"):
        read_final_info(code / "run_0")


def test_cli_local_run_warns_and_prints_json(tmp_path: Path) -> None:
    code = experiment(tmp_path, hostile.GOOD)
    cli = [sys.executable, "-m", "aisci", "sandbox", "run", "--backend", "local", "--code", str(code)]
    proc = subprocess.run(
        [*cli, "--out-dir", "run_0", "--timeout", "30", "--", "python", "experiment.py", "run_0"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "[warning] local sandbox backend" in proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == "ok" and result["returncode"] == 0
