"""Template baselines in the sandbox (local backend): each template's smoke run, plots, records, failures.

The smoke runs train for real, so these tests also check that each template learns: the metrics must beat what
an untrained model scores.
"""

import json
import math
from pathlib import Path

import pytest
from test_templates_check import write_v1_template
from typer.testing import CliRunner

from aisci.cli import app
from aisci.errors import TemplateError
from aisci.template_baseline import RECORD, baseline_dir, baseline_status, ensure_baseline, run_baseline
from aisci.templates import final_info_problems

pytestmark = pytest.mark.filterwarnings("ignore::aisci.sandbox.local.LocalBackendWarning")

# what each smoke run must reach: an untrained model scores eval_loss 1 (noise MSE), chance accuracy 1/97 and
# ln(97) = 4.57 nats on the modular tasks, ln(76) = 4.33 nats per character on the text
LEARNED = {
    "2d_diffusion": lambda g, m: m["eval_loss"] < 0.9 and (g != "circle" or m["kl_divergence"] < 0.5),
    "grokking": lambda g, m: (
        g == "permutation" or (m["final_train_acc"] > 0.05 and m["final_train_loss"] < 4.3)
    ),
    "nanogpt_lite": lambda g, m: m["best_val_loss"] < 3.0 and m["inference_tokens_per_s"] > 0,
}
FIGURES = {
    "2d_diffusion": ["generated_samples.png", "train_loss.png"],
    "grokking": ["train_acc.png", "train_loss.png", "val_acc.png", "val_loss.png"],
    "nanogpt_lite": ["train_loss_shakespeare_char.png", "val_loss_shakespeare_char.png"],
}


@pytest.mark.parametrize("name", sorted(LEARNED))
def test_smoke_baseline_of_each_template(name: str, smoke_baseline) -> None:
    record, workspace = smoke_baseline(name)

    dest = baseline_dir(workspace, name, smoke=True)
    info = json.loads((dest / "run_0" / "final_info.json").read_text())
    assert final_info_problems(info) == []
    assert all(entry["smoke"] is True for entry in info.values())  # smoke results can never pass as full ones
    for group, entry in info.items():
        assert all(math.isfinite(v) for v in entry["means"].values())
        assert LEARNED[name](group, entry["means"]), (group, entry["means"])

    assert record.status == "ok" and record.smoke and record.figures == FIGURES[name]
    for figure in record.figures:
        assert (dest / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (dest / "plots").exists()
    saved = json.loads((dest / RECORD).read_text())
    assert saved["means"] == {group: entry["means"] for group, entry in info.items()}
    assert saved["hardware"]["cpu_count"] >= 1 and saved["experiment_s"] > 0 and saved["plot_s"] > 0
    assert baseline_status(Path("templates") / name, workspace) == "smoke"
    assert not (Path(__file__).parents[1] / "templates" / name / "run_0").exists()  # templates stay untouched


def test_v1_plot_writing_to_its_working_folder_is_collected(tmp_path: Path) -> None:
    folder = write_v1_template(tmp_path / "v1_toy")
    record = run_baseline(folder, tmp_path / "ws", backend="local", timeout_s=60)
    dest = baseline_dir(tmp_path / "ws", "v1_toy")
    assert record.figures == ["toy.png"] and (dest / "toy.png").is_file()
    assert record.means == {"toy": {"loss": 0.5, "acc": 0.9}}
    assert json.loads((dest / "run_0" / "final_info.json").read_text())["toy"]["stderrs"] == {
        "loss": 0.01,
        "acc": 0.02,
    }


def test_existing_baseline_needs_force_and_is_kept(tmp_path: Path) -> None:
    folder = write_v1_template(tmp_path / "v1_toy")
    ws = tmp_path / "ws"
    run_baseline(folder, ws, backend="local", timeout_s=60)
    with pytest.raises(TemplateError, match="a baseline already exists") as info:
        run_baseline(folder, ws, backend="local", timeout_s=60)
    assert info.value.hint == "pass --force to run it again"
    run_baseline(folder, ws, backend="local", timeout_s=60, force=True)
    kept = [p.name for p in (ws / "baselines").iterdir()]
    assert "v1_toy" in kept and any(name.startswith("v1_toy.") for name in kept)


def test_failed_experiment_is_recorded(tmp_path: Path) -> None:
    folder = write_v1_template(tmp_path / "v1_toy")
    (folder / "experiment.py").write_text(
        "import argparse\nargparse.ArgumentParser().add_argument('--out_dir')\n"
        "raise SystemExit('diverged: loss is nan')\n"
    )
    with pytest.raises(TemplateError, match="ended with status failed") as info:
        run_baseline(folder, tmp_path / "ws", backend="local", timeout_s=60)
    assert "diverged: loss is nan" in info.value.message
    record = json.loads((baseline_dir(tmp_path / "ws", "v1_toy") / RECORD).read_text())
    assert record["status"] == "experiment_failed" and "diverged" in record["message"]


def test_broken_template_is_refused_before_running(tmp_path: Path) -> None:
    folder = write_v1_template(tmp_path / "v1_toy")
    (folder / "prompt.json").unlink()
    with pytest.raises(TemplateError, match="prompt.json: missing file"):
        run_baseline(folder, tmp_path / "ws", backend="local", timeout_s=60)
    assert not (tmp_path / "ws" / "baselines").exists()


def test_ensure_baseline_runs_once_then_reuses(tmp_path: Path) -> None:
    shipped = write_v1_template(tmp_path / "shipped")
    assert ensure_baseline(shipped, tmp_path / "ws") == shipped / "run_0"  # a template's own run_0 counts

    bare = write_v1_template(tmp_path / "bare")
    (bare / "run_0" / "final_info.json").unlink()
    run_0 = ensure_baseline(bare, tmp_path / "ws", backend="local", timeout_s=60)
    assert run_0 == baseline_dir(tmp_path / "ws", "bare") / "run_0"
    first = (run_0 / "final_info.json").stat().st_mtime_ns
    assert ensure_baseline(bare, tmp_path / "ws", backend="local", timeout_s=60) == run_0
    assert (run_0 / "final_info.json").stat().st_mtime_ns == first


def test_cli_baseline(tmp_path: Path) -> None:
    folder = write_v1_template(tmp_path / "v1_toy")
    args = ["template", "baseline", str(folder), "--backend", "local", "--workspace", str(tmp_path / "ws")]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "local sandbox backend" in result.output
    assert "baseline of v1_toy done in" in result.output
    assert "toy: loss=0.5, acc=0.9" in result.output and "figures: toy.png" in result.output


@pytest.mark.docker
def test_v1_template_baseline_in_docker(tmp_path: Path) -> None:
    """In the container the code is read-only: plot.py still draws, inside the writable plots/ folder."""
    folder = write_v1_template(tmp_path / "v1_toy")
    (folder / "run_0" / "final_info.json").unlink()
    record = run_baseline(folder, tmp_path / "ws", backend="docker", timeout_s=120)
    assert record.status == "ok" and record.backend == "docker"
    assert record.figures == ["toy.png"] and record.means == {"toy": {"loss": 0.5, "acc": 0.9}}
