"""Template baselines: a template's `run_0`, run in the sandbox, then plotted, with time and hardware.

A baseline lives in the workspace, never in templates/: `<workspace>/baselines/<template>/` holds a copy of
the template code, `run_0/`, the PNGs plot.py drew and `baseline.json`. Smoke baselines (AISCI_SMOKE=1) go to
`<template>-smoke/` so they can never stand in for a full one. Every idea compares against `run_0`, and a
missing `run_0/final_info.json` was the AI Scientist's most common user error, so `ensure_baseline` makes one
on demand.
"""

import json
import os
import platform
import shutil
import stat
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from aisci.errors import AisciError, TemplateError
from aisci.files import write_atomic
from aisci.templates import SMOKE_ENV, check, final_info_problems, resolve

BASELINES = "baselines"
RUN = "run_0"
PLOTS = "plots"
RECORD = "baseline.json"
PLOT_TIMEOUT_S = 600.0
COPY_IGNORE = shutil.ignore_patterns("run_*", PLOTS, "__pycache__", ".git", "*.png", "*.pyc", RECORD)
# plot.py reads run folders from, and writes PNGs to, its working folder; the sandbox mounts the code
# read-only, so the plot runs inside the writable `plots/` folder, which holds a copy of the runs, with the
# code folder on sys.path.
PLOT_SHIM = (
    "import os, runpy, sys; code = os.getcwd(); os.chdir(sys.argv[1]); sys.path.insert(0, code); "
    "sys.argv = ['plot.py']; runpy.run_path(os.path.join(code, 'plot.py'), run_name='__main__')"
)

Stage = Literal["experiment", "plot"]


class Hardware(BaseModel):
    platform: str
    python: str
    cpu: str
    cpu_count: int
    memory_gb: float
    gpus: list[str]


class BaselineRecord(BaseModel):
    """baseline.json: what ran, where, how long, and what came out."""

    template: str
    source: str
    smoke: bool
    backend: str
    threads: int | None = None
    status: Literal["ok", "experiment_failed", "plot_failed"]
    started_at: str
    experiment_s: float
    plot_s: float | None = None
    total_s: float
    hardware: Hardware
    figures: list[str] = []
    means: dict[str, dict[str, float]] = {}
    message: str = ""


def hardware() -> Hardware:
    """The machine the sandbox runs on (both backends run on this host)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpus: list[str] = []
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=20,
            )
            gpus = [line.strip() for line in out.stdout.splitlines() if line.strip()]
        except (OSError, subprocess.SubprocessError):
            pass
    return Hardware(
        platform=platform.platform(),
        python=platform.python_version(),
        cpu=cpu,
        cpu_count=len(os.sched_getaffinity(0)),
        memory_gb=round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        gpus=gpus,
    )


def baseline_dir(workspace: Path, name: str, smoke: bool = False) -> Path:
    return Path(workspace) / BASELINES / (f"{name}-smoke" if smoke else name)


def _valid_run(run_dir: Path) -> bool:
    try:
        data = json.loads((run_dir / "final_info.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return not final_info_problems(data)


def find_baseline(folder: Path, workspace: Path, smoke: bool = False) -> Path | None:
    """An existing valid run_0: shipped with the template, else the workspace baseline."""
    for run_dir in (Path(folder) / RUN, baseline_dir(workspace, Path(folder).name, smoke) / RUN):
        if _valid_run(run_dir):
            return run_dir
    return None


def baseline_status(folder: Path, workspace: Path) -> str:
    """ "in template", "yes", "smoke" (only a smoke baseline) or "no", for `template list`."""
    if _valid_run(Path(folder) / RUN):
        return "in template"
    if _valid_run(baseline_dir(workspace, Path(folder).name) / RUN):
        return "yes"
    if _valid_run(baseline_dir(workspace, Path(folder).name, smoke=True) / RUN):
        return "smoke"
    return "no"


def _collect_pngs(plots: Path, dest: Path) -> list[str]:
    """Move the regular PNG files plot.py wrote up into the baseline folder; links and the rest stay."""
    figures = []
    for entry in sorted(plots.iterdir()):
        if entry.suffix.lower() == ".png" and stat.S_ISREG(entry.lstat().st_mode):
            entry.replace(dest / entry.name)
            figures.append(entry.name)
    return figures


def _tail(text: str, lines: int = 5) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def run_baseline(
    template: str | Path,
    workspace: Path,
    *,
    smoke: bool = False,
    backend: str | None = None,
    timeout_s: float = 4 * 3600,
    gpus: list[int] | None = None,
    threads: int | None = None,
    force: bool = False,
    on_stage: Callable[[Stage], None] | None = None,
) -> BaselineRecord:
    """Run the template's run_0 in the sandbox, then plot.py, and write baseline.json beside them.

    An earlier baseline is kept: without `force` its presence is an error; with it, it is renamed aside.
    `threads` sets OMP_NUM_THREADS for CPU runs: on a shared CPU, fewer threads than cores can be many
    times faster than PyTorch's default of one per core.
    Raises TemplateError when the template breaks the contract or a stage fails (the record is written first).
    """
    from aisci.sandbox import read_final_info, run_sandboxed

    if backend is None:
        from aisci.settings import get_settings

        backend = get_settings().sandbox_backend
    folder = resolve(template)
    problems = check(folder)
    if problems:
        raise TemplateError(
            f"template {folder.name} breaks the contract:\n" + "\n".join(f"  - {p}" for p in problems),
            hint=f"see `aisci template check {folder}`",
        )
    dest = baseline_dir(workspace, folder.name, smoke)
    if dest.exists():
        if _valid_run(dest / RUN) and not force:
            raise TemplateError(f"a baseline already exists in {dest}", hint="pass --force to run it again")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        dest.replace(dest.with_name(f"{dest.name}.{stamp}"))
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(folder, dest, ignore=COPY_IGNORE)

    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    start = time.monotonic()
    record: dict[str, Any] = {
        "template": folder.name,
        "source": str(folder),
        "smoke": smoke,
        "backend": backend,
        "threads": threads,
        "started_at": started_at,
        "hardware": hardware(),
    }

    def finish(**fields: Any) -> BaselineRecord:
        done = BaselineRecord(**record, **fields, total_s=round(time.monotonic() - start, 2))
        write_atomic(dest / RECORD, done.model_dump_json(indent=2))
        return done

    if on_stage:
        on_stage("experiment")
    env = {SMOKE_ENV: "1"} if smoke else {}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    result = run_sandboxed(
        dest,
        ["python", "experiment.py", f"--out_dir={RUN}"],
        out_dir=dest / RUN,
        backend=backend,
        timeout_s=timeout_s,
        gpus=gpus,
        env=env,
    )
    record["experiment_s"] = round(result.duration_s, 2)
    if result.status != "ok":
        detail = _tail(result.stderr_tail) or result.message
        finish(status="experiment_failed", message=f"{result.status}: {result.message}\n{detail}".strip())
        raise TemplateError(
            f"the baseline experiment of {folder.name} ended with status {result.status} "
            f"after {result.duration_s:.0f} s:\n{detail}",
            hint=f"logs and partial output are in {dest}",
        )
    try:
        data = read_final_info(dest / RUN)
        problems = final_info_problems(data, f"{RUN}/final_info.json")
    except AisciError as exc:
        problems = [exc.message]
    if problems:
        finish(status="experiment_failed", message="\n".join(problems))
        raise TemplateError("the baseline wrote an invalid final_info.json:\n" + "\n".join(problems))
    record["means"] = {group: entry["means"] for group, entry in data.items()}

    if on_stage:
        on_stage("plot")
    plots = dest / PLOTS
    shutil.copytree(dest / RUN, plots / RUN, symlinks=True)
    plot = run_sandboxed(
        dest,
        ["python", "-c", PLOT_SHIM, PLOTS],
        out_dir=plots,
        backend=backend,
        timeout_s=PLOT_TIMEOUT_S,
        env=env,
    )
    figures = _collect_pngs(plots, dest)
    shutil.rmtree(plots)
    record["plot_s"] = round(plot.duration_s, 2)
    if plot.status != "ok" or not figures:
        detail = _tail(plot.stderr_tail) or plot.message or "plot.py wrote no PNG"
        finish(status="plot_failed", figures=figures, message=detail)
        raise TemplateError(f"plot.py of {folder.name} failed ({plot.status}):\n{detail}", hint=f"see {dest}")
    return finish(status="ok", figures=figures)


def ensure_baseline(template: str | Path, workspace: Path, **options: Any) -> Path:
    """The run_0 folder an idea compares against, running the baseline first when there is none."""
    folder = resolve(template)
    existing = find_baseline(folder, workspace, smoke=options.get("smoke", False))
    if existing is not None:
        return existing
    run_baseline(folder, workspace, **options)
    return baseline_dir(workspace, folder.name, options.get("smoke", False)) / RUN
