"""manifest.json: enough for someone else to re-run an idea's experiments as they ran.

The image (name and Docker image id), the Python, torch and CUDA versions read inside the sandbox by a tiny
probe (the host's may differ), the host, and per run its duration, seeds and parameters (`run_config`).
The experiment stage writes one in the idea folder; `aisci reproduce` writes one per reproduction.
"""

import json
import platform
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from aisci.experiment import folder
from aisci.experiment.config import Value, is_smoke, run_config
from aisci.files import write_atomic
from aisci.settings import Settings
from aisci.template_baseline import Hardware, hardware

MANIFEST = "manifest.json"
PROBE_TIMEOUT_S = 300.0
SEED = re.compile(r"(^|[._])seeds?$", re.IGNORECASE)
PROBE = """\
import json, platform
found = {"python": platform.python_version()}
try:
    import torch
    found.update(torch=torch.__version__, cuda=torch.version.cuda, cuda_available=torch.cuda.is_available())
    if found["cuda_available"]:
        found["devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
except Exception:
    pass
print(json.dumps(found))
"""


class Runtime(BaseModel):
    """What the experiment code ran on, as seen from inside the sandbox."""

    python: str | None = None
    torch: str | None = None
    cuda: str | None = None  # the CUDA version torch was built with; None for a CPU build
    cuda_available: bool = False
    devices: list[str] = []
    problem: str = ""  # why the probe could not tell


class RunEntry(BaseModel):
    run: int
    duration_s: float | None  # the sandboxed run's wall-clock seconds
    smoke: bool
    seeds: dict[str, Value]
    parameters: dict[str, Value]


class Manifest(BaseModel):
    written_at: str
    written_by: Literal["experiment", "reproduce"]
    hostname: str
    host: Hardware
    backend: str
    image: str | None  # docker only
    image_id: str | None
    gpus: list[int] | None
    runtime: Runtime
    runs: list[RunEntry]


def run_entry(idea_dir: Path, run: int, duration_s: float | None) -> RunEntry:
    parameters = run_config(idea_dir, run)
    seeds = {k: v for k, v in parameters.items() if SEED.search(k)}
    return RunEntry(
        run=run, duration_s=duration_s, smoke=is_smoke(idea_dir, run), seeds=seeds, parameters=parameters
    )


def run_duration(idea_dir: Path, run: int) -> float | None:
    """The duration the experiment stage recorded for the run (run_i/attempt.json); None without one."""
    record = folder.run_dir(idea_dir, run) / folder.ATTEMPT_RECORD
    try:
        return float(json.loads(record.read_text())["duration_s"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def build(
    settings: Settings,
    runs: list[RunEntry],
    written_by: Literal["experiment", "reproduce"],
    gpus: list[int] | None = None,
) -> Manifest:
    backend = settings.sandbox_backend
    image = settings.sandbox_image if backend == "docker" else None
    return Manifest(
        written_at=datetime.now(UTC).isoformat(timespec="seconds"),
        written_by=written_by,
        hostname=platform.node(),
        host=hardware(),
        backend=backend,
        image=image,
        image_id=image_id(image) if image else None,
        gpus=gpus,
        runtime=probe(settings, gpus),
        runs=runs,
    )


def write_manifest(idea_dir: Path, settings: Settings, gpus: list[int] | None = None) -> Manifest:
    """The idea's manifest.json from its completed runs, as the experiment stage leaves them."""
    runs = [run_entry(idea_dir, r, run_duration(idea_dir, r)) for r in folder.completed_runs(idea_dir)]
    manifest = build(settings, runs, "experiment", gpus)
    write_atomic(idea_dir / MANIFEST, manifest.model_dump_json(indent=2))
    return manifest


def image_id(image: str) -> str | None:
    """The image's id (sha256:...), which names its exact content; None when the engine cannot say."""
    import docker

    from aisci.errors import SandboxError
    from aisci.sandbox.images import docker_client

    try:
        return docker_client().images.get(image).id
    except (SandboxError, docker.errors.DockerException):
        return None


def probe(settings: Settings, gpus: list[int] | None = None) -> Runtime:
    """Python, torch and CUDA versions inside the sandbox the runs use."""
    from aisci.errors import SandboxError
    from aisci.sandbox import run_sandboxed

    with tempfile.TemporaryDirectory(prefix="aisci-probe-") as tmp:
        out = Path(tmp) / "out"
        try:
            result = run_sandboxed(
                Path(tmp), ["python", "-c", PROBE], out, timeout_s=PROBE_TIMEOUT_S, gpus=gpus
            )
        except SandboxError as exc:
            return Runtime(problem=exc.message)
    lines = result.stdout_tail.strip().splitlines()
    if result.status != "ok" or not lines:
        return Runtime(problem=f"the probe ended with {result.status}: {result.stderr_tail.strip()[-300:]}")
    try:
        return Runtime.model_validate_json(lines[-1])
    except ValueError:
        return Runtime(problem=f"the probe printed {lines[-1][:200]!r}")
