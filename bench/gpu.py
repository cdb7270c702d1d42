"""GPU check: each template's full-size baseline on CUDA in the local sandbox, nvidia-smi sampled each second.

For a GPU host with no Docker and no network, to which the repo tree is copied. From the repo root, as one
command (under 8 minutes on an H100/H200):

    python bench/gpu.py --out $OUT/gpu.json

carrying `bench/.gpu-deps` (git-ignored, so a remote run names it: carry=["bench/.gpu-deps"]), made once
where PyPI is reachable:

    .venv/bin/python bench/gpu.py --prepare-deps 3.11 3.12 3.13

What the host needs: Python >= 3.11 with torch (a CUDA build) and numpy for every template, scipy for
2d_diffusion, matplotlib for plot.py, and nvidia-smi. The script checks each and says what is missing. Of
aisci, it imports only the sandbox, the templates and the baseline (never Prefect, litellm, pydantic-settings
or typer); their one need beyond the standard library is pydantic 2, taken from `bench/.gpu-deps/cpXY-x86_64/`
when that holds a copy for this Python, else from the host.

Per template it prints the experiment's seconds, seconds per result group (dataset or task) with the
template's declared timing metrics, the GPU's busy fraction (mean utilization.gpu over the experiment's
samples) and peak memory used; --out writes the same figures as JSON. Each template gets at most --limit-s
and the whole check --budget-s; a template cut off by its limit is reported as cut off, one that no time was
left for as skipped. The AI Scientist reports about 37 s per dataset for 2d_diffusion's baseline on its GPU.
--smoke runs the AISCI_SMOKE=1 settings and accepts a CPU: the test of this script.
"""

import argparse
import importlib.metadata
import importlib.util
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEPS = ROOT / "bench" / ".gpu-deps"
ORDER = ("2d_diffusion", "nanogpt_lite", "grokking")  # the reference figure first, the longest last
HOST_MODULES = {
    "torch": "every template",
    "numpy": "every template",
    "scipy": "2d_diffusion",
    "matplotlib": "plots",
}
QUERY = ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits"]
PROBE = "import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')"
PLOT_RESERVE_S = 15.0  # kept back from each experiment's share of the budget for its plot.py
MIN_LIMIT_S = 30.0  # a template with less time left than this is skipped, not started
AI_SCIENTIST_S_PER_DATASET = {"2d_diffusion": 37.0}  # full-size baselines on its GPU


def deps_dir(version: str) -> Path:
    return DEPS / f"cp{version.replace('.', '')}-x86_64"


def prepare_deps(versions: list[str]) -> None:
    """Install this environment's pydantic for each Python into bench/.gpu-deps, to carry to a host."""
    pin = f"pydantic=={importlib.metadata.version('pydantic')}"
    for version in versions:
        target = deps_dir(version)
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--target", str(target)]
            + ["--python-version", version, "--implementation", "cp", "--platform", "manylinux2014_x86_64"]
            + ["--only-binary=:all:", pin],
            check=True,
        )
        print(f"{target.relative_to(ROOT)}: {pin}")


def use_repo() -> str:
    """Put the repo, and the carried pydantic for this Python if there is one, on sys.path; say which."""
    if sys.version_info < (3, 11):  # noqa: UP036 (the host's Python, whatever it is)
        raise SystemExit(f"aisci needs Python 3.11 or later; this is {platform.python_version()}")
    sys.path.insert(0, str(ROOT))
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    carried = deps_dir(python)
    if platform.machine() == "x86_64" and carried.is_dir():
        sys.path.insert(0, str(carried))
        return f"carried in {carried.relative_to(ROOT)}"
    try:
        version = importlib.metadata.version("pydantic")
    except importlib.metadata.PackageNotFoundError:
        version = None
    if version is None or not version.startswith("2."):
        raise SystemExit(
            f"aisci's sandbox needs pydantic 2; this Python {platform.python_version()} has "
            f"{version or 'none'} and {carried.relative_to(ROOT)} does not exist: run "
            f"`.venv/bin/python bench/gpu.py --prepare-deps {python}` "
            "where PyPI is reachable and carry bench/.gpu-deps"
        )
    return f"{version} on the host"


def host_modules() -> dict[str, str | None]:
    """The version of each module the templates need, None where it is missing."""
    found: dict[str, str | None] = {}
    for name in HOST_MODULES:
        if importlib.util.find_spec(name) is None:
            found[name] = None
            continue
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "present"
    return found


class GpuSampler:
    """One nvidia-smi query a second on a thread; each sample is tagged with the stage running then."""

    def __init__(self, gpu: int, interval_s: float = 1.0) -> None:
        self.gpu = gpu
        self.interval_s = interval_s
        self.stage = "idle"
        self.samples: list[tuple[str, float, float]] = []  # (stage, utilization %, memory used MiB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> "GpuSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            if sample := self._query():
                self.samples.append((self.stage, *sample))
            self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))

    def _query(self) -> tuple[float, float] | None:
        try:
            out = subprocess.run([*QUERY, f"--id={self.gpu}"], capture_output=True, text=True, timeout=5)
            utilization, memory = out.stdout.strip().splitlines()[0].split(",")
            return float(utilization), float(memory)
        except (OSError, subprocess.SubprocessError, ValueError, IndexError):
            return None

    def during(self, stage: str) -> list[tuple[float, float]]:
        return [(u, m) for s, u, m in self.samples if s == stage]


@dataclass
class TemplateFigures:
    template: str
    # ok, plot_failed (the experiment's figures stand), cut_off, experiment_failed, skipped, error
    status: str
    limit_s: float
    experiment_s: float | None = None
    plot_s: float | None = None
    groups: list[str] = field(default_factory=list)
    seconds_per_group: float | None = None  # the experiment's wall-clock seconds over its result groups
    # group -> declared timing metric -> its mean in final_info.json
    timing: dict[str, dict[str, float]] = field(default_factory=dict)
    timing_labels: dict[str, str] = field(default_factory=dict)
    gpu_busy: float | None = None  # mean utilization.gpu / 100 over the experiment's samples
    samples: int = 0
    peak_memory_mib: float | None = None
    message: str = ""


def run_template(
    name: str, workspace: Path, limit_s: float, gpus: list[int], smoke: bool, sampler: GpuSampler
) -> TemplateFigures:
    """The template's baseline (experiment, then plot.py), as `aisci template baseline --backend local`."""
    from aisci.errors import AisciError
    from aisci.sandbox import read_final_info
    from aisci.template_baseline import RECORD, RUN, BaselineRecord, baseline_dir, run_baseline
    from aisci.templates import datasets, load_spec, resolve

    folder = resolve(name)
    name = folder.name
    spec = load_spec(folder)
    figures = TemplateFigures(template=name, status="error", limit_s=round(limit_s, 1))
    dest = baseline_dir(workspace, name, smoke)
    started = time.time()

    def on_stage(stage: str) -> None:
        sampler.stage = f"{name}:{stage}"

    try:
        record = run_baseline(
            folder,
            workspace,
            smoke=smoke,
            backend="local",
            timeout_s=limit_s,
            gpus=gpus,
            force=True,
            on_stage=on_stage,
        )
    except AisciError as exc:
        figures.message = exc.message
        if not (dest / RECORD).is_file() or (dest / RECORD).stat().st_mtime < started:
            return figures
        record = BaselineRecord.model_validate_json((dest / RECORD).read_text(encoding="utf-8"))
    finally:
        sampler.stage = "idle"
    figures.experiment_s, figures.plot_s = record.experiment_s, record.plot_s
    if record.status == "experiment_failed":
        figures.status = "cut_off" if record.message.startswith("timeout") else "experiment_failed"
        figures.groups = datasets(folder)
    else:
        figures.status = record.status
        final_info = read_final_info(dest / RUN)
        figures.groups = list(final_info)
        figures.seconds_per_group = round(record.experiment_s / len(final_info), 2)
        timing = [metric for metric, declared in spec.metrics.items() if declared.timing]
        figures.timing_labels = {metric: spec.metric(metric).label or metric for metric in timing}
        figures.timing = {
            group: {m: entry["means"][m] for m in timing if m in entry["means"]}
            for group, entry in final_info.items()
        }
    figures.message = record.message
    busy = sampler.during(f"{name}:experiment")
    figures.samples = len(busy)
    if busy:
        figures.gpu_busy = round(sum(u for u, _ in busy) / len(busy) / 100, 3)
        figures.peak_memory_mib = max(m for _, m in busy)
    return figures


def cuda_in_sandbox(gpus: list[int]) -> str:
    """The device torch sees inside the local sandbox given `gpus`: a GPU's name, or 'cpu'."""
    from aisci.sandbox import run_sandboxed

    with tempfile.TemporaryDirectory() as tmp:
        result = run_sandboxed(
            Path(tmp), ["python", "-c", PROBE], Path(tmp) / "out", backend="local", gpus=gpus, timeout_s=120
        )
    if result.status != "ok":
        return f"no torch in the sandbox ({result.status}: {result.stderr_tail.strip().splitlines()[-1:]})"
    return (result.stdout_tail.strip().splitlines() or ["nothing printed"])[-1]


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_table(rows: list[TemplateFigures], smoke: bool) -> None:
    """The figures as a table, then each group's timing metrics and each failure's message."""
    print(
        f"\n{'template':14} {'status':17} {'limit s':>7} {'experiment s':>12} {'plot s':>6} {'groups':>6} "
        f"{'s/group':>7} {'GPU busy':>8} {'peak MiB':>8}"
    )
    for row in rows:
        print(
            f"{row.template:14} {row.status:17} {row.limit_s:7.0f} {_num(row.experiment_s):>12} "
            f"{_num(row.plot_s):>6} {len(row.groups):6d} {_num(row.seconds_per_group):>7} "
            f"{_num(row.gpu_busy, 2):>8} {_num(row.peak_memory_mib, 0):>8}"
        )
    for row in rows:
        for group, values in row.timing.items():
            shown = ", ".join(f"{row.timing_labels[m]} {v:.2f}" for m, v in values.items())
            print(f"  {row.template}/{group}: {shown}")
        if row.status != "ok" and row.message:
            lines = row.message.strip().splitlines()
            print(f"  {row.template}: " + " ... ".join(dict.fromkeys([lines[0].strip(), lines[-1].strip()])))
        if not smoke and row.template in AI_SCIENTIST_S_PER_DATASET and row.seconds_per_group is not None:
            print(
                f"  {row.template}: {row.seconds_per_group:.1f} s per dataset here; the AI Scientist reports "
                f"about {AI_SCIENTIST_S_PER_DATASET[row.template]:.0f} s on its GPU"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    parser.add_argument("--templates", nargs="+", default=list(ORDER), help="templates, in this order")
    parser.add_argument("--limit-s", type=float, default=240.0, help="wall-clock limit of each experiment")
    parser.add_argument("--budget-s", type=float, default=450.0, help="wall-clock limit of the whole check")
    parser.add_argument("--gpu", type=int, default=0, help="device id given to the sandbox and sampled")
    parser.add_argument(
        "--workspace",
        type=Path,
        help="where the baselines go (default: baselines/ beside --out, else a temp folder)",
    )
    parser.add_argument("--smoke", action="store_true", help="AISCI_SMOKE=1 settings; a CPU is accepted")
    parser.add_argument("--prepare-deps", nargs="+", metavar="PYTHON", help="make bench/.gpu-deps and stop")
    args = parser.parse_args()
    if args.prepare_deps:
        prepare_deps(args.prepare_deps)
        return 0

    start = time.monotonic()
    pydantic_source = use_repo()
    modules = host_modules()
    missing = [f"{name} ({HOST_MODULES[name]})" for name, version in modules.items() if version is None]
    print(f"Python {platform.python_version()}; pydantic {pydantic_source}")
    print(
        "modules: "
        + ", ".join(f"{n} {v}" for n, v in modules.items() if v)
        + f"; missing: {', '.join(missing) or 'none'}"
    )
    if not shutil.which("nvidia-smi"):
        print("nvidia-smi: not found, so no GPU samples")
    warnings.filterwarnings("ignore", message="local sandbox backend")
    from aisci.template_baseline import hardware

    gpus = [args.gpu]
    device = cuda_in_sandbox(gpus)
    print(f"torch in the local sandbox with CUDA_VISIBLE_DEVICES={args.gpu}: {device}")
    if device.startswith("no torch") or (device == "cpu" and not args.smoke):
        host = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
        seen = (host.stdout.strip() or host.stderr.strip()).splitlines()[-1:]
        print(f"torch on the host, with its own environment: {' '.join(seen)}")
        print(
            "the check needs torch in the sandbox, and CUDA there for full size; see above", file=sys.stderr
        )
        return 1
    if args.workspace:
        workspace = args.workspace
    elif args.out:
        workspace = args.out.parent / "baselines"
    else:
        workspace = Path(tempfile.mkdtemp(prefix="aisci-gpu-"))
    rows: list[TemplateFigures] = []
    with GpuSampler(args.gpu) as sampler:
        time.sleep(1.5)  # an idle sample or two before the first run
        for name in args.templates:
            left = args.budget_s - (time.monotonic() - start) - PLOT_RESERVE_S
            limit_s = min(args.limit_s, left)
            if limit_s < MIN_LIMIT_S and limit_s < args.limit_s:
                rows.append(
                    TemplateFigures(
                        template=Path(name).name, status="skipped", limit_s=0, message="budget spent"
                    )
                )
                continue
            print(
                f"{name}: baseline ({'smoke' if args.smoke else 'full size'}), limit {limit_s:.0f} s",
                flush=True,
            )
            rows.append(run_template(name, workspace, limit_s, gpus, args.smoke, sampler))
    idle = sampler.during("idle")
    wall_s = round(time.monotonic() - start, 1)
    print_table(rows, args.smoke)
    print(f"\nwhole check {wall_s:.0f} s (budget {args.budget_s:.0f} s); baselines in {workspace}")
    if args.out:
        report = {
            "smoke": args.smoke,
            "python": platform.python_version(),
            "pydantic": pydantic_source,
            "modules": modules,
            "device": device,
            "hardware": hardware().model_dump(),
            "idle_memory_mib": min((m for _, m in idle), default=None),
            "budget_s": args.budget_s,
            "wall_s": wall_s,
            "workspace": str(workspace),
            "templates": [asdict(row) for row in rows],
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"figures in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
