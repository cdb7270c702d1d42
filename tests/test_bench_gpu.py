"""bench/gpu.py on CPU: its smoke mode with a fake nvidia-smi, toy templates, the limit and budget guards, and
the claim that it imports nothing of aisci's that a bare GPU host lacks."""

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from test_templates_check import write_v1_template

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "bench" / "gpu.py"
FAKE_SMI = """#!/bin/sh
echo "$*" >> "$(dirname "$0")/calls.log"
case "$*" in
  *name*) echo "NVIDIA H200, 143771 MiB" ;;
  *) echo "45, 2048" ;;
esac
"""
EXPERIMENT = """\
import argparse
import json
import time
from pathlib import Path

DATASETS = ("a", "b")
SECONDS = {seconds}

parser = argparse.ArgumentParser()
parser.add_argument("--out_dir", default="run_0")
out = Path(parser.parse_args().out_dir)
out.mkdir(parents=True, exist_ok=True)
results = {{}}
for name in DATASETS:
    start = time.time()
    time.sleep(SECONDS)
    results[name] = {{"means": {{"loss": 0.5, "train_time": time.time() - start}}}}
(out / "final_info.json").write_text(json.dumps(results))
"""
PLOT = 'open("loss.png", "wb").write(b"\\x89PNG\\r\\n\\x1a\\n")\n'
SPEC = {"metrics": {"loss": {"primary": True}, "train_time": {"timing": True, "label": "train time (s)"}}}


def toy(folder: Path, seconds: float) -> Path:
    """A template whose two datasets each take `seconds`, with a declared timing metric."""
    write_v1_template(folder)
    shutil.rmtree(folder / "run_0")
    (folder / "experiment.py").write_text(EXPERIMENT.format(seconds=seconds))
    (folder / "plot.py").write_text(PLOT)
    (folder / "template.json").write_text(json.dumps(SPEC))
    return folder


def bench(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    fake = tmp_path / "fake-bin"
    fake.mkdir(exist_ok=True)
    (fake / "nvidia-smi").write_text(FAKE_SMI)
    (fake / "nvidia-smi").chmod(0o755)
    env = {"PATH": f"{fake}:{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--workspace", str(tmp_path / "ws"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


def table_row(stdout: str, name: str) -> list[str]:
    return next(line.split() for line in stdout.splitlines() if line.startswith(f"{name} "))


def test_smoke_check_prints_and_writes_the_figures(tmp_path: Path) -> None:
    fast, slow = toy(tmp_path / "fast", 1.0), toy(tmp_path / "slow", 60.0)
    out = tmp_path / "gpu.json"
    run = bench(tmp_path, "--smoke", "--templates", str(fast), str(slow), "--limit-s", "5", "--out", str(out))
    assert run.returncode == 0, run.stderr

    report = json.loads(out.read_text())
    assert report["smoke"] and report["device"] == "cpu"
    assert report["hardware"]["gpus"] == ["NVIDIA H200, 143771 MiB"]
    ok, cut = report["templates"]
    assert ok["status"] == "ok" and ok["groups"] == ["a", "b"] and ok["limit_s"] == 5
    assert 2.0 <= ok["experiment_s"] < 5.0
    assert ok["seconds_per_group"] == round(ok["experiment_s"] / 2, 2)
    for group in ("a", "b"):
        assert 1.0 <= ok["timing"][group]["train_time"] < ok["seconds_per_group"]
    assert ok["samples"] >= 1 and ok["gpu_busy"] == 0.45 and ok["peak_memory_mib"] == 2048
    assert ok["plot_s"] > 0

    assert cut["status"] == "cut_off" and cut["groups"] == ["a", "b"]  # the groups it would have run
    assert 5.0 <= cut["experiment_s"] < 15.0
    assert cut["seconds_per_group"] is None and cut["timing"] == {}

    assert table_row(run.stdout, "fast") == [
        "fast", "ok", "5", f"{ok['experiment_s']:.1f}", f"{ok['plot_s']:.1f}", "2",
        f"{ok['seconds_per_group']:.1f}", "0.45", "2048",
    ]  # fmt: skip
    assert table_row(run.stdout, "slow")[:3] == ["slow", "cut_off", "5"]
    assert "slow: timeout: killed after the 5 s wall-clock limit" in run.stdout
    assert f"fast/a: train time (s) {ok['timing']['a']['train_time']:.2f}" in run.stdout
    calls = (tmp_path / "fake-bin" / "calls.log").read_text()
    assert "--query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits --id=0" in calls


def test_budget_skips_what_it_cannot_fit_and_full_size_needs_cuda(tmp_path: Path) -> None:
    folder = toy(tmp_path / "toy", 0.1)
    out = tmp_path / "gpu.json"
    run = bench(tmp_path, "--smoke", "--templates", str(folder), "--budget-s", "10", "--out", str(out))
    assert run.returncode == 0, run.stderr
    (skipped,) = json.loads(out.read_text())["templates"]
    assert skipped["status"] == "skipped" and skipped["experiment_s"] is None
    assert not (tmp_path / "ws").exists()

    full = bench(tmp_path, "--templates", str(folder))
    assert full.returncode == 1 and "and CUDA there for full size" in full.stderr


def test_runner_imports_nothing_a_bare_gpu_host_lacks() -> None:
    probe = textwrap.dedent(
        f"""
        import sys
        before = set(sys.modules)
        import runpy
        bench = runpy.run_path({str(SCRIPT)!r})
        bench["use_repo"]()
        import aisci.template_baseline, aisci.sandbox, aisci.sandbox.local, aisci.templates
        new = {{m.split(".")[0] for m in set(sys.modules) - before}} - set(sys.stdlib_module_names)
        new = {{m for m in new if not m.startswith("_sysconfigdata")}}  # the platform's stdlib build data
        print(sorted(new - {{"aisci", "pydantic", "pydantic_core", "typing_extensions", "annotated_types",
                             "typing_inspection"}}))
        """
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
