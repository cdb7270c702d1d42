"""The local backend: the experiment runs on the host under a supervisor process. Opt-in only.

What it does promise: its own session and process group, a scrubbed environment, rlimits, a wall-clock timeout
from the host, every descendant killed at the end (setsid and double-fork included, through the supervisor's
subreaper), and a return even when a stray process keeps stdout open. What it cannot promise (no network or
filesystem isolation) is listed in docs/sandbox.md.
"""

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from aisci.sandbox.result import SandboxResult, Tail

SUPERVISOR = Path(__file__).with_name("_supervisor.py")
GRACE_S = 2.0
DRAIN_S = 1.0
OOM_MARKERS = (
    "MemoryError",
    "std::bad_alloc",
    "Cannot allocate memory",
    "DefaultCPUAllocator: can't allocate",
)


class LocalBackendWarning(UserWarning):
    """Emitted on every local run: the code runs on this host, with its network and files."""


def _cpu_ids(cpus: float | None) -> list[int] | None:
    if cpus is None:
        return None
    available = sorted(os.sched_getaffinity(0))
    return available[: max(1, min(len(available), int(-(-cpus // 1))))]


def run_local(
    code_dir: Path,
    argv: list[str],
    out_dir: Path,
    *,
    timeout_s: float,
    env: dict[str, str],
    memory_mb: int | None,
    cpus: float | None,
    pids: int | None,
    tail_bytes: int,
) -> SandboxResult:
    warnings.warn(
        "local sandbox backend: the experiment runs on this host with its network and filesystem; "
        "only the docker backend isolates LLM-written code",
        LocalBackendWarning,
        stacklevel=3,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="aisci-local-home-"))
    interpreter_dir = str(Path(sys.executable).parent)
    run_env = {
        "PATH": f"{interpreter_dir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(home),
        "USER": os.environ.get("USER", "experiment"),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(home / "matplotlib"),
        **env,
    }
    status_r, status_w = os.pipe()
    config = {
        "argv": argv,
        "status_fd": status_w,
        "grace_s": GRACE_S,
        "memory_bytes": memory_mb * 2**20 if memory_mb else None,
        "pids": pids,
        "cpu_ids": _cpu_ids(cpus),
    }
    stdout, stderr = Tail(tail_bytes), Tail(tail_bytes)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", str(SUPERVISOR), json.dumps(config)],
            cwd=code_dir,
            env=run_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            pass_fds=(status_w,),
        )
    finally:
        os.close(status_w)
    status_bytes = bytearray()
    timed_out = _pump(
        proc, {proc.stdout: stdout, proc.stderr: stderr}, status_r, status_bytes, started + timeout_s
    )
    duration = time.monotonic() - started
    shutil.rmtree(home, ignore_errors=True)
    try:
        report = json.loads(status_bytes or b"{}")
    except json.JSONDecodeError:
        report = {}
    return _classify(report, timed_out, timeout_s, duration, stdout, stderr, memory_mb)


def _pump(proc: subprocess.Popen, tails: dict, status_r: int, status: bytearray, deadline: float) -> bool:
    """Move output into the tails until the supervisor is gone; at the deadline ask it to kill the tree.

    Returns whether the deadline passed. Never waits on a pipe a stray process might hold open: once the
    supervisor has exited, output is drained for at most DRAIN_S.
    """
    sel = selectors.DefaultSelector()
    for stream, tail in tails.items():
        os.set_blocking(stream.fileno(), False)
        sel.register(stream.fileno(), selectors.EVENT_READ, tail)
    sel.register(status_r, selectors.EVENT_READ, None)
    timed_out = False
    hard_kill_at = None
    drain_until = None
    try:
        while sel.get_map():
            now = time.monotonic()
            if drain_until is None and proc.poll() is not None:
                drain_until = now + DRAIN_S
            if drain_until is not None and now > drain_until:
                break
            if not timed_out and now > deadline:
                timed_out = True
                proc.send_signal(signal.SIGTERM)
                hard_kill_at = now + GRACE_S + 10.0
            if hard_kill_at is not None and now > hard_kill_at and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            for key, _ in sel.select(timeout=0.1):
                data = os.read(key.fd, 65536)
                if not data:
                    sel.unregister(key.fd)
                elif key.data is None:
                    status.extend(data[: 4096 - len(status)])
                else:
                    key.data.feed(data)
    finally:
        sel.close()
        for stream in tails:
            stream.close()
        os.close(status_r)
        try:
            proc.wait(timeout=GRACE_S + 10.0)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return timed_out


def _classify(
    report: dict,
    timed_out: bool,
    timeout_s: float,
    duration: float,
    stdout: Tail,
    stderr: Tail,
    memory_mb: int | None,
) -> SandboxResult:
    returncode = report.get("returncode")
    err_text = stderr.text()
    if timed_out or report.get("timed_out"):
        status, message = "timeout", f"killed after the {timeout_s:g} s wall-clock limit"
    elif not report:
        status, message = "error", "the local supervisor died without a report (killed by the experiment?)"
    elif returncode == 0:
        status, message = "ok", ""
    elif memory_mb and any(marker in err_text for marker in OOM_MARKERS):
        status, message = "oom", f"ran out of its {memory_mb} MB address-space limit"
    elif returncode == -signal.SIGKILL:
        status, message = (
            "oom",
            "killed by SIGKILL from outside the sandbox (most likely the kernel's OOM killer)",
        )
    else:
        status, message = "failed", f"exited with return code {returncode}"
    return SandboxResult(
        status=status,
        returncode=returncode,
        duration_s=round(duration, 3),
        stdout_tail=stdout.text(),
        stderr_tail=err_text,
        message=message,
    )
