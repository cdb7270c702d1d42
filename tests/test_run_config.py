"""Each run's effective configuration: the config.json our templates write (smoke runs, for real), and the
defaults read from code for templates that write none."""

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from aisci.experiment import snapshot
from aisci.experiment.config import code_config, run_config
from aisci.experiment.notes import measured_lines
from aisci.template_baseline import baseline_dir
from aisci.templates import check, load_spec

pytestmark = pytest.mark.filterwarnings("ignore::aisci.sandbox.local.LocalBackendWarning")

# what each smoke run must record beside its final_info.json
EXPECTED = {
    "2d_diffusion": {
        "smoke": True,
        "train_steps": 700,
        "hidden_size": 128,
        "beta_schedule": "linear",
        "knn_k": 5,
        "setup.circle.kl_n_real": 2000,
        "setup.circle.kl_m_generated": 2000,
        "datasets": "circle, dino, line, moons",
    },
    "grokking": {
        "smoke": True,
        "seeds": "0",
        "n_seeds": 1,
        "train_steps": 250,
        "tasks.x_plus_y.n_train": 4704,
    },
    "nanogpt_lite": {"smoke": True, "n_embd": 64, "max_iters": 300, "dataset": "shakespeare_char"},
}


@pytest.fixture
def smoke_run(smoke_baseline) -> Callable[[str], Path]:
    """A template's smoke baseline folder: its code and run_0."""

    def get(name: str) -> Path:
        record, workspace = smoke_baseline(name)
        assert record.status == "ok"
        return baseline_dir(workspace, name, smoke=True)

    return get


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_template_records_the_configuration_it_used(name: str, smoke_run) -> None:
    dest = smoke_run(name)
    config = run_config(dest, 0)
    assert EXPECTED[name].items() <= config.items()
    assert all(isinstance(v, int | float | str | bool) for v in config.values())
    assert check(dest) == []  # template.json names only metrics the run reports


def test_a_step_never_reached_is_listed_not_given_the_step_budget(smoke_run) -> None:
    """Smoke grokking (250 steps) never reaches 99% validation accuracy."""
    dest = smoke_run("grokking")
    info = json.loads((dest / "run_0" / "final_info.json").read_text())
    for entry in info.values():
        assert "step_val_acc_99" not in entry["means"] and entry["unreached"] == ["step_val_acc_99"]
    lines = measured_lines(info, info, load_spec(dest), 1).splitlines()
    assert "- x_plus_y.step_val_acc_99: not reached" in lines
    assert any(line.startswith("- x_plus_y.final_val_acc = ") for line in lines)


def test_a_smoke_run_without_a_record_gets_no_code_defaults(smoke_run, tmp_path: Path) -> None:
    """Its code's defaults are the full-size settings, not the ones it ran with."""
    idea = shutil.copytree(smoke_run("nanogpt_lite"), tmp_path / "idea")
    snapshot.save(idea, 0)
    assert run_config(idea, 0)["max_iters"] == 300
    (idea / "run_0" / "config.json").unlink()
    assert (idea / "run_0" / "code" / "experiment.py").is_file() and run_config(idea, 0) == {}


def test_without_a_record_the_defaults_come_from_the_code() -> None:
    source = """
import argparse
from dataclasses import dataclass, field

LR = 3e-4
DATASETS = ("a", "b")
device = "cuda"

@dataclass
class Config:
    width: int = 64
    dropout: float = field(default=0.1)
    name: str = "mlp"
    layers: list = field(default_factory=list)

parser = argparse.ArgumentParser()
parser.add_argument("--out_dir", default="run_0")
parser.add_argument("--num-steps", type=int, default=1000)
parser.add_argument("--lr", default=1e-3)  # LR above is another name
parser.add_argument("--seed", dest="seed_value", default=7)
"""
    assert code_config(source) == {
        "width": 64,
        "dropout": 0.1,
        "name": "mlp",
        "num_steps": 1000,
        "lr": 1e-3,
        "seed_value": 7,
        "LR": 3e-4,
        "DATASETS": "a, b",
    }
    assert code_config("def broken(:") == {}
