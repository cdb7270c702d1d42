"""Experiment images, built with no registry: a Debian base from debootstrap, the experiment stack on top.

The local CPU image is made in two steps, each skipped when an image carrying the same recipe hash exists:
1. `aisci-base:bookworm`: `debootstrap --variant=minbase` + `docker import` (no registry pull);
2. the experiment image: a container of the base runs `docker/cpu-install.sh` with host-downloaded wheels
   mounted read-only and no network, then is committed. Committing (not `docker build`) keeps the 280 MB of
   wheels out of the image's layers, which the classic builder cannot do.
The GPU image is a plain Dockerfile build (`docker/experiment.Dockerfile`) on an official CUDA PyTorch base.
"""

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from aisci.errors import SandboxError

REPO_ROOT = Path(__file__).resolve().parents[2]
RECIPE_DIR = REPO_ROOT / "docker"
BASE_IMAGE = "aisci-base:bookworm"
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
BASE_PACKAGES = ("python3", "python3-venv")
RECIPE_LABEL = "aisci.recipe"
BUILD_LOCK = Path(tempfile.gettempdir()) / "aisci-sandbox-build.lock"
GPU_BASE_DEFAULT = "pytorch/pytorch:2.9.1-cuda12.8-cudnn9-runtime"
EXPERIMENT_ENV = {
    "PATH": "/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "MPLBACKEND": "Agg",
}

Log = Callable[[str], None]


class BuildReport(BaseModel):
    """What `build_cpu_image` did: which steps ran, how long, and the resulting image."""

    image: str
    image_id: str
    size_mb: float
    built: list[str]
    skipped: list[str]
    duration_s: float


def _hash(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def base_recipe_hash() -> str:
    return _hash("debootstrap", "minbase", DEBIAN_SUITE, DEBIAN_MIRROR, *BASE_PACKAGES)


def cpu_recipe_hash() -> str:
    """Changes whenever the base, the install script, the pinned wheels or the image config change."""
    files = [(RECIPE_DIR / name).read_bytes() for name in ("cpu-install.sh", "requirements-cpu.txt")]
    config = repr(sorted(EXPERIMENT_ENV.items()))
    return _hash(base_recipe_hash(), *files, config)


def docker_client():
    """A client for the local engine, or a SandboxError that says how to start one."""
    import docker
    import requests

    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except (docker.errors.DockerException, requests.RequestException) as exc:
        raise SandboxError(
            f"cannot reach the Docker engine: {exc}",
            hint="start it with scripts/dockerd.sh (or use --backend local, which isolates far less)",
        ) from None
    return client


def recipe_of(client, image: str) -> str | None:
    """The recipe hash an image was built from, or None when the image does not exist."""
    import docker

    try:
        return (client.images.get(image).labels or {}).get(RECIPE_LABEL)
    except docker.errors.ImageNotFound:
        return None


def _as_root(cmd: list[str]) -> list[str]:
    return cmd if os.geteuid() == 0 else ["sudo", "-n", *cmd]


def _build_base(client, log: Log) -> None:
    """debootstrap a minimal Debian with Python into a temporary folder and import it as an image."""
    if shutil.which("debootstrap") is None:
        raise SandboxError(
            "debootstrap is not installed", hint="run scripts/setup.sh (it installs debootstrap)"
        )
    rootfs = Path(tempfile.mkdtemp(prefix="aisci-rootfs-", dir="/var/tmp"))
    try:
        log(f"debootstrap {DEBIAN_SUITE} (minbase) into {rootfs}")
        cmd = ["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}"]
        proc = subprocess.run(
            _as_root([*cmd, DEBIAN_SUITE, str(rootfs), DEBIAN_MIRROR]), capture_output=True, text=True
        )
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr)[-2000:]
            raise SandboxError(f"debootstrap failed:\n{tail}", hint="check that deb.debian.org is reachable")
        log(f"docker import -> {BASE_IMAGE}")
        tar = subprocess.Popen(
            _as_root(["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."]), stdout=subprocess.PIPE
        )
        repo, tag = BASE_IMAGE.split(":")
        client.api.import_image_from_stream(
            tar.stdout, repository=repo, tag=tag, changes=[f"LABEL {RECIPE_LABEL}={base_recipe_hash()}"]
        )
        if tar.wait() != 0:
            raise SandboxError("tar of the debootstrap root failed")
    finally:
        subprocess.run(_as_root(["rm", "-rf", "--one-file-system", str(rootfs)]), check=False)


def _download_wheels(dest: Path, log: Log) -> None:
    log(f"pip download the pinned wheels into {dest}")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", str(dest)]
        + ["-r", str(RECIPE_DIR / "requirements-cpu.txt")],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SandboxError(f"pip download failed:\n{proc.stderr[-2000:]}", hint="check the package index")


def _build_cpu(client, image: str, log: Log) -> None:
    """Install the stack into a throwaway container of the base (offline), then commit it with its config."""
    from docker.types import Mount

    with tempfile.TemporaryDirectory(prefix="aisci-wheels-") as wheels:
        _download_wheels(Path(wheels), log)
        os.chmod(wheels, 0o755)
        log("install the experiment stack (no network) and commit")
        container = client.containers.create(
            BASE_IMAGE,
            command=["/bin/sh", "/recipe/cpu-install.sh"],
            network_mode="none",
            mounts=[
                Mount("/wheels", wheels, type="bind", read_only=True),
                Mount("/recipe", str(RECIPE_DIR), type="bind", read_only=True),
            ],
            labels={"aisci.build": "1"},
        )
        try:
            container.start()
            code = container.wait()["StatusCode"]
            if code != 0:
                logs = container.logs().decode(errors="replace")[-3000:]
                raise SandboxError(f"installing the experiment stack failed (exit {code}):\n{logs}")
            repo, tag = image.rsplit(":", 1) if ":" in image else (image, "latest")
            changes = [f"ENV {key}={value}" for key, value in EXPERIMENT_ENV.items()]
            changes += [
                "USER 1000:1000",
                "WORKDIR /work",
                'CMD ["python"]',
                f"LABEL {RECIPE_LABEL}={cpu_recipe_hash()}",
            ]
            container.commit(repository=repo, tag=tag, changes=changes)
        finally:
            container.remove(force=True)


def _replacing(client, image: str, build: Callable[[], None]) -> None:
    """Run `build`, then delete the image `image` used to name, so rebuilds do not pile up 1.3 GB orphans."""
    import docker

    try:
        previous = client.images.get(image).id
    except docker.errors.ImageNotFound:
        previous = None
    build()
    if previous and previous != client.images.get(image).id:
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(previous)


def build_cpu_image(image: str, *, force: bool = False, log: Log = lambda _: None) -> BuildReport:
    """Build the local CPU experiment image (and its base) unless images with the current recipe exist."""
    if not (RECIPE_DIR / "cpu-install.sh").is_file():
        raise SandboxError(f"the image recipes are missing from {RECIPE_DIR}", hint="run from an aisci clone")
    client = docker_client()
    started = time.monotonic()
    built, skipped = [], []
    with open(BUILD_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if force or recipe_of(client, BASE_IMAGE) != base_recipe_hash():
            _build_base(client, log)
            built.append(BASE_IMAGE)
        else:
            skipped.append(BASE_IMAGE)
        if force or built or recipe_of(client, image) != cpu_recipe_hash():
            _replacing(client, image, lambda: _build_cpu(client, image, log))
            built.append(image)
        else:
            skipped.append(image)
    final = client.images.get(image)
    return BuildReport(
        image=image,
        image_id=final.id,
        size_mb=round(final.attrs["Size"] / 2**20, 1),
        built=built,
        skipped=skipped,
        duration_s=round(time.monotonic() - started, 1),
    )


def build_gpu_image(image: str, base: str = GPU_BASE_DEFAULT, *, log: Log = lambda _: None) -> BuildReport:
    """Build `docker/experiment.Dockerfile` on a CUDA PyTorch base (local, or pulled from a registry)."""
    import docker

    client = docker_client()
    started = time.monotonic()
    log(f"docker build docker/experiment.Dockerfile FROM {base}")
    try:
        built, _ = client.images.build(
            path=str(RECIPE_DIR),
            dockerfile="experiment.Dockerfile",
            tag=image,
            buildargs={"BASE_IMAGE": base},
            labels={RECIPE_LABEL: _hash(base, (RECIPE_DIR / "experiment.Dockerfile").read_bytes())},
            rm=True,
            forcerm=True,
        )
    except docker.errors.BuildError as exc:
        tail = "".join(str(chunk.get("stream", chunk.get("error", ""))) for chunk in exc.build_log)[-2000:]
        raise SandboxError(
            f"building {image} failed: {exc.msg}\n{tail}", hint="is the base image reachable?"
        ) from None
    return BuildReport(
        image=image,
        image_id=built.id,
        size_mb=round(built.attrs["Size"] / 2**20, 1),
        built=[image],
        skipped=[],
        duration_s=round(time.monotonic() - started, 1),
    )
