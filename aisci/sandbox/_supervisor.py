"""Supervisor of one local-backend run, started as `python -I _supervisor.py CONFIG_JSON`; stdlib only.

It makes itself a child subreaper, so every process the experiment starts stays its descendant even after
setsid or a double fork. When the experiment exits, or when the host sends SIGTERM at the deadline, it kills
that whole tree (SIGTERM, a grace period, then SIGKILL until none is left) and reports on a status pipe.
"""

import contextlib
import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


class Deadline(Exception):
    """The host asked us to stop: the run timed out."""


def _on_sigterm(signum, frame):
    raise Deadline


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def descendants(root: int) -> list[int]:
    """Every live process below `root`, found through the parent links in /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_tree(grace_s: float) -> None:
    """SIGTERM every descendant, wait up to `grace_s`, then SIGKILL until the tree is empty."""
    me = os.getpid()
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
        until = time.monotonic() + wait_s
        while True:
            pids = descendants(me)
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            _reap()
            if not pids or time.monotonic() > until:
                break
            time.sleep(0.05)
        if not descendants(me):
            return


def _limit(config: dict) -> None:
    """Runs in the experiment's process between fork and exec."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if config.get("memory_bytes"):
        resource.setrlimit(resource.RLIMIT_AS, (config["memory_bytes"], config["memory_bytes"]))
    if config.get("pids"):
        resource.setrlimit(resource.RLIMIT_NPROC, (config["pids"], config["pids"]))
    if config.get("cpu_ids"):
        os.sched_setaffinity(0, config["cpu_ids"])


def main() -> int:
    config = json.loads(sys.argv[1])
    status = os.fdopen(config["status_fd"], "w")
    host = os.getppid()
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    signal.signal(signal.SIGTERM, _on_sigterm)
    result: dict = {"returncode": None, "timed_out": False}
    try:
        if os.getppid() != host:
            raise Deadline
        try:
            main_proc = subprocess.Popen(config["argv"], preexec_fn=lambda: _limit(config), close_fds=True)
        except OSError as exc:
            print(f"cannot start {config['argv'][0]!r}: {exc.strerror or exc}", file=sys.stderr, flush=True)
            result["returncode"] = 127
        else:
            while result["returncode"] is None:
                pid, wait_status = os.waitpid(-1, 0)
                if pid == main_proc.pid:
                    result["returncode"] = os.waitstatus_to_exitcode(wait_status)
    except Deadline:
        result["timed_out"] = True
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    kill_tree(config["grace_s"])
    status.write(json.dumps(result))
    status.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
