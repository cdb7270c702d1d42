"""`run_sandboxed`: the one entry point every stage uses to run model-written code."""

import os
import re
from pathlib import Path

from aisci.errors import SandboxError
from aisci.sandbox.result import TAIL_BYTES, SandboxResult

BACKENDS = ("docker", "local")
DEFAULT_PIDS = 512
SECRET_NAME = re.compile(
    r"(^|_)(API_?KEY|ACCESS_?KEY|SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIALS?)(_|$)", re.IGNORECASE
)


def default_memory_mb() -> int:
    """Three quarters of the host's memory: a runaway experiment must leave the host alive."""
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * 0.75 / 2**20)


def _check_env(env: dict[str, str]) -> dict[str, str]:
    secrets = sorted(name for name in env if SECRET_NAME.search(name))
    if secrets:
        raise SandboxError(
            f"refusing to pass {', '.join(secrets)} into the sandbox: experiments never see credentials",
            hint="pass only plain configuration variables",
        )
    for name, value in env.items():
        if not isinstance(name, str) or not isinstance(value, str) or not name or "=" in name:
            raise SandboxError(f"bad environment entry {name!r}: names and values must be strings")
    return dict(env)


def resolve_paths(code_dir: Path, out_dir: Path) -> tuple[Path, Path]:
    """Absolute code and output folders; the output folder must sit strictly inside the code folder."""
    code_dir = Path(code_dir).resolve()
    if not code_dir.is_dir():
        raise SandboxError(f"code folder {code_dir} does not exist")
    out_dir = Path(out_dir)
    out_dir = (code_dir / out_dir if not out_dir.is_absolute() else out_dir).absolute()
    parent = out_dir.parent.resolve()
    out_dir = parent / out_dir.name
    if out_dir.is_symlink():
        raise SandboxError(f"output folder {out_dir} is a symlink", hint="use a fresh folder name")
    if code_dir not in out_dir.parents:
        raise SandboxError(
            f"output folder {out_dir} is not inside the code folder {code_dir}",
            hint="use e.g. --out-dir run_1",
        )
    return code_dir, out_dir


def run_sandboxed(
    code_dir: Path,
    argv: list[str],
    out_dir: Path,
    *,
    backend: str | None = None,
    timeout_s: float,
    gpus: list[int] | None = None,
    env: dict[str, str] | None = None,
    memory_mb: int | None = None,
    cpus: float | None = None,
    pids: int | None = None,
    image: str | None = None,
    tail_bytes: int = TAIL_BYTES,
) -> SandboxResult:
    """Run `argv` with the working directory `code_dir`, writable only `out_dir`, within the limits.

    The experiment's own failure (non-zero exit, timeout, OOM) comes back as the result's status. A
    SandboxError means the sandbox could not run at all (no engine, no image, bad paths, a secret in `env`).
    `backend` and `image` default to the settings (`sandbox_backend`, `sandbox_image`).
    """
    if not argv:
        raise SandboxError("nothing to run: argv is empty")
    if timeout_s <= 0:
        raise SandboxError(f"timeout_s must be positive, got {timeout_s}")
    code_dir, out_dir = resolve_paths(code_dir, out_dir)
    run_env = _check_env(env or {})
    if backend is None or (image is None and backend == "docker"):
        from aisci.settings import get_settings

        settings = get_settings()
        backend = backend or settings.sandbox_backend
        image = image or settings.sandbox_image
    if backend == "docker":
        from aisci.sandbox.docker_backend import run_docker

        return run_docker(
            code_dir,
            list(argv),
            out_dir,
            image=image,
            timeout_s=timeout_s,
            env=run_env,
            memory_mb=memory_mb or default_memory_mb(),
            cpus=cpus,
            pids=pids or DEFAULT_PIDS,
            gpus=gpus,
            tail_bytes=tail_bytes,
        )
    if backend == "local":
        from aisci.sandbox.local import run_local

        if gpus:
            run_env.setdefault("CUDA_VISIBLE_DEVICES", ",".join(map(str, gpus)))
        return run_local(
            code_dir,
            list(argv),
            out_dir,
            timeout_s=timeout_s,
            env=run_env,
            memory_mb=memory_mb,
            cpus=cpus,
            pids=pids,
            tail_bytes=tail_bytes,
        )
    raise SandboxError(f"unknown sandbox backend {backend!r}", hint=f"choose one of: {', '.join(BACKENDS)}")
