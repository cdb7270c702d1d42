"""The docker backend: one throwaway container per run, configured so hostile code stays inside.

The container gets a read-only copy of the code (made world-readable, so host folders of mode 0700 do not
matter), the output folder as its only writable mount, no network, a read-only root with a small /tmp, no
capabilities, a non-root user, memory/CPU/pids limits and size-capped logs. The deadline is enforced here, on
the host. Containers carry labels with their owner and deadline, so leftovers of a crashed host are removed by
the next run.
"""

import contextlib
import os
import shutil
import socket
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

from aisci.errors import SandboxError
from aisci.processes import alive
from aisci.sandbox.images import docker_client
from aisci.sandbox.result import SandboxResult, Tail

LABEL = "aisci.sandbox"
SANDBOX_UID = 1000
GRACE_S = 2.0
LOG_MAX_SIZE = "1m"
TMP_SIZE = "512m"
SHM_SIZE = "512m"
CONTAINER_ENV = {
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    "USER": "experiment",
    "LANG": "C.UTF-8",
    "MPLCONFIGDIR": "/tmp/matplotlib",
}


def sandbox_user() -> tuple[int, int]:
    """Run as the caller when it is not root (its files stay its own), as an unprivileged uid when it is."""
    if os.geteuid() == 0:
        return SANDBOX_UID, SANDBOX_UID
    return os.geteuid(), os.getegid()


def container_config(
    *,
    image: str,
    argv: list[str],
    code_copy: Path,
    out_dir: Path,
    out_rel: Path,
    env: dict[str, str],
    memory_mb: int,
    cpus: float | None,
    pids: int,
    gpus: list[int] | None,
    deadline: float,
) -> dict[str, Any]:
    """Keyword arguments for `containers.create`: every isolation choice in one place."""
    from docker.types import DeviceRequest, LogConfig, Mount

    uid, gid = sandbox_user()
    config: dict[str, Any] = {
        "image": image,
        "command": argv,
        "working_dir": "/work",
        "user": f"{uid}:{gid}",
        "environment": {**CONTAINER_ENV, **env},
        "network_mode": "none",
        "mounts": [
            Mount("/work", str(code_copy), type="bind", read_only=True),
            Mount(f"/work/{out_rel.as_posix()}", str(out_dir), type="bind", read_only=False),
        ],
        "read_only": True,
        "tmpfs": {"/tmp": f"rw,nosuid,nodev,size={TMP_SIZE},mode=1777"},
        "shm_size": SHM_SIZE,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "init": True,
        "mem_limit": f"{memory_mb}m",
        "memswap_limit": f"{memory_mb}m",
        "pids_limit": pids,
        "log_config": LogConfig(type="json-file", config={"max-size": LOG_MAX_SIZE, "max-file": "2"}),
        "labels": {
            LABEL: "1",
            f"{LABEL}.host": socket.gethostname(),
            f"{LABEL}.pid": str(os.getpid()),
            f"{LABEL}.deadline": f"{deadline:.0f}",
        },
    }
    if cpus:
        config["nano_cpus"] = int(cpus * 1e9)
    if gpus:
        config["device_requests"] = [DeviceRequest(device_ids=[str(g) for g in gpus], capabilities=[["gpu"]])]
    return config


def reap_leftovers(client) -> list[str]:
    """Remove sandbox containers past their deadline, or whose owner process on this host has died."""
    import docker

    removed = []
    host = socket.gethostname()
    for container in client.containers.list(all=True, filters={"label": LABEL}):
        labels = container.labels
        try:
            expired = float(labels.get(f"{LABEL}.deadline", "0")) < time.time()
            orphaned = labels.get(f"{LABEL}.host") == host and not alive(int(labels.get(f"{LABEL}.pid", "0")))
        except ValueError:
            expired, orphaned = True, False
        if expired or orphaned:
            try:
                container.remove(force=True)
                removed.append(container.name)
            except docker.errors.NotFound:
                pass
    return removed


def _copy_code(code_dir: Path, out_rel: Path, dest: Path) -> None:
    """A world-readable copy of the code without the output folder.

    Symlinks are copied as links, never followed; FIFOs, sockets and devices (which an earlier run may have
    planted to block or trick the host) are left out.
    """
    skip = code_dir / out_rel

    def ignore(folder: str, names: list[str]) -> list[str]:
        left_out = []
        for name in names:
            path = Path(folder, name)
            mode = path.lstat().st_mode
            if path == skip or not (stat.S_ISDIR(mode) or stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
                left_out.append(name)
        return left_out

    shutil.copytree(code_dir, dest, symlinks=True, ignore=ignore)
    for root, _dirs, files in os.walk(dest):
        os.chmod(root, 0o755)
        for name in files:
            path = Path(root, name)
            if not path.is_symlink():
                mode = path.stat().st_mode
                path.chmod(0o755 if mode & stat.S_IXUSR else 0o644)
    (dest / out_rel).mkdir(parents=True, exist_ok=True)


def _chown_tree(top: Path, uid: int, gid: int) -> None:
    os.lchown(top, uid, gid)
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            os.lchown(Path(root, name), uid, gid)


def _tail(container, tail_bytes: int, *, stdout: bool) -> str:
    tail = Tail(tail_bytes)
    tail.feed(container.logs(stdout=stdout, stderr=not stdout, tail=2000))
    return tail.text()


def run_docker(
    code_dir: Path,
    argv: list[str],
    out_dir: Path,
    *,
    image: str,
    timeout_s: float,
    env: dict[str, str],
    memory_mb: int,
    cpus: float | None,
    pids: int,
    gpus: list[int] | None,
    tail_bytes: int,
) -> SandboxResult:
    import docker
    import requests

    client = docker_client()
    reap_leftovers(client)
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        raise SandboxError(
            f"the sandbox image {image} does not exist", hint="build it: aisci sandbox build"
        ) from None
    out_rel = out_dir.relative_to(code_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    owner = code_dir.stat()
    staging = Path(tempfile.mkdtemp(prefix="aisci-sandbox-"))
    container = None
    try:
        _copy_code(code_dir, out_rel, staging / "code")
        if os.geteuid() == 0:
            _chown_tree(out_dir, *sandbox_user())
        config = container_config(
            image=image,
            argv=argv,
            code_copy=staging / "code",
            out_dir=out_dir,
            out_rel=out_rel,
            env=env,
            memory_mb=memory_mb,
            cpus=cpus,
            pids=pids,
            gpus=gpus,
            deadline=time.time() + timeout_s + 60,
        )
        container = client.containers.create(**config)
        started = time.monotonic()
        try:
            container.start()
        except docker.errors.APIError as exc:
            return SandboxResult(
                status="error",
                returncode=None,
                duration_s=round(time.monotonic() - started, 3),
                stdout_tail="",
                stderr_tail="",
                message=f"the container did not start: {exc.explanation or exc}",
            )
        timed_out = False
        try:
            returncode = container.wait(timeout=max(timeout_s, 0.001))["StatusCode"]
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            timed_out = True
            container.stop(timeout=int(GRACE_S))
            returncode = container.wait(timeout=30)["StatusCode"]
        duration = time.monotonic() - started
        container.reload()
        oom = bool(container.attrs["State"].get("OOMKilled"))
        if timed_out:
            status, message = "timeout", f"killed after the {timeout_s:g} s wall-clock limit"
        elif oom:
            status, message = "oom", f"killed for exceeding its {memory_mb} MB memory limit"
        elif returncode == 0:
            status, message = "ok", ""
        else:
            status, message = "failed", f"exited with return code {returncode}"
        return SandboxResult(
            status=status,
            returncode=returncode,
            duration_s=round(duration, 3),
            stdout_tail=_tail(container, tail_bytes, stdout=True),
            stderr_tail=_tail(container, tail_bytes, stdout=False),
            message=message,
        )
    finally:
        if container is not None:
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
        shutil.rmtree(staging, ignore_errors=True)
        if os.geteuid() == 0:
            _chown_tree(out_dir, owner.st_uid, owner.st_gid)
