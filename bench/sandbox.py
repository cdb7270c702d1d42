"""Sandbox overhead: a ~20 s CPU experiment under docker vs local, and the cost of one empty container run.

Goals: median docker/local ratio <= 1.05; container start+stop (a whole `run_sandboxed` of `true`) <= 1.5 s.
Usage: .venv/bin/python bench/sandbox.py [--seconds 20] [--reps 3] [--image aisci-experiment:cpu]
"""

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

from aisci.sandbox import run_sandboxed

EXPERIMENT = """
import sys, time, torch
torch.manual_seed(0)
torch.set_num_threads(1)
a = torch.randn(256, 256)
started = time.perf_counter()
for _ in range(int(sys.argv[1])):
    a = torch.tanh(a @ a / 16)
print(f"{time.perf_counter() - started:.3f}")
"""


def timed(code: Path, argv: list[str], backend: str, image: str) -> tuple[float, str]:
    """Wall-clock seconds of one whole `run_sandboxed` call, and the run's stdout."""
    started = time.perf_counter()
    result = run_sandboxed(code, argv, code / "run_0", backend=backend, image=image, timeout_s=600)
    if result.status != "ok":
        raise SystemExit(f"{backend} run failed: {result}")
    return time.perf_counter() - started, result.stdout_tail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--image", default="aisci-experiment:cpu")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        code = Path(tmp)
        (code / "experiment.py").write_text(EXPERIMENT)
        probe = 2000
        per_iter = float(timed(code, ["python", "experiment.py", str(probe)], "local", args.image)[1]) / probe
        iters = str(int(args.seconds / per_iter))
        print(f"CPU experiment: {iters} iterations (~{args.seconds:g} s), {args.reps} reps per backend")
        runs: dict[str, list[float]] = {"docker": [], "local": []}
        for _ in range(args.reps):
            for backend in runs:
                runs[backend].append(timed(code, ["python", "experiment.py", iters], backend, args.image)[0])
        for backend, times in runs.items():
            each = ", ".join(f"{t:.2f}" for t in times)
            print(f"  {backend:6s} median {statistics.median(times):6.2f} s  ({each})")
        ratio = statistics.median(runs["docker"]) / statistics.median(runs["local"])
        print(f"  docker/local median ratio: {ratio:.3f}  (goal <= 1.05)")
        empty = {b: [timed(code, ["true"], b, args.image)[0] for _ in range(10)] for b in runs}
        for backend, times in empty.items():
            print(f"empty run ({backend}): median {statistics.median(times):.3f} s, max {max(times):.3f} s")
        print(f"container start+stop: {statistics.median(empty['docker']):.3f} s  (goal <= 1.5 s)")


if __name__ == "__main__":
    main()
