"""Parameter runs in the experiment stage: the scripted model sets declared parameters instead of editing."""

import json
import subprocess
import sys

import pytest
from test_experiment import prompts
from toy_template import FIGURES, edit, label, make_toy_template, step

from aisci.experiment.notes import read_notes
from aisci.settings import get_settings

EXPERIMENT = """\
import argparse
import json
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--out_dir", default="run_0")
parser.add_argument("--params")
args = parser.parse_args()
cfg = {"lr": 0.1, **(json.loads(Path(args.params).read_text()) if args.params else {})}
out = Path(args.out_dir)
out.mkdir(parents=True, exist_ok=True)
(out / "config.json").write_text(json.dumps(cfg))
(out / "final_info.json").write_text(json.dumps({"toy": {"means": {"loss": (cfg["lr"] - 0.03) ** 2}}}))
"""
SPEC = {
    "parameters": {"lr": {"type": "float", "min": 0.001, "max": 1, "default": 0.1, "description": "step"}}
}


def settings(*pairs, description="Lower the LR."):
    return json.dumps(
        {"action": "run", "description": description, "params": [{"name": n, "value": v} for n, v in pairs]}
    )


@pytest.fixture
def idea(tmp_path, scripted, monkeypatch):
    folder = make_toy_template(tmp_path / "sweep" / "tune-lr")
    (folder / "experiment.py").write_text(EXPERIMENT)
    (folder / "template.json").write_text(json.dumps(SPEC))
    (folder / "idea.json").write_text(json.dumps({"Name": "tune-lr", "Title": "Tuning the learning rate"}))
    monkeypatch.setenv("AISCI_SANDBOX_BACKEND", "local")
    monkeypatch.setenv("AISCI_MODELS__DEFAULT", "openai/scripted")
    monkeypatch.setenv("AISCI_LLM__API_BASE", scripted.url)
    monkeypatch.setenv("AISCI_RUN_TIMEOUT_S", "20")
    get_settings.cache_clear()
    scripted.add(
        {"contains": "These figures were made", "reply": FIGURES},
        {"contains": "this is run 2", "reply": step("done", thought="run 1 answered it")},
    )
    return folder


def test_a_weak_model_sets_parameters_and_the_run_records_and_reproduces_them(
    prefect_harness, scripted, idea, monkeypatch
):
    from flows.experiment import run_experiments

    monkeypatch.setenv("AISCI_LLM__WEAK_MODELS", '["openai/scripted"]')
    get_settings.cache_clear()
    scripted.add({"contains": "this is run 1", "reply": settings(("lr", 0.03))})
    summary = run_experiments(str(idea), max_runs=2)
    assert summary.runs == [1] and summary.figures == ["loss.png"]

    first, second = prompts(scripted)[:2]
    assert "## Parameters" in first and "- lr: float in [0.001, 1], default 0.1: step" in first
    assert "experiment.py now" not in first and '"edits":' not in first  # only the parameter form
    assert '"enum":["run"]' in first and '"enum":["run","done"]' in second  # done once a run succeeded
    assert not any("Edit plot.py" in p for p in prompts(scripted))  # aisci labelled plot.py itself

    assert json.loads((idea / "run_1" / "params.json").read_text()) == {"lr": 0.03}
    assert json.loads((idea / "run_1" / "config.json").read_text()) == {"lr": 0.03}
    assert not (idea / "params.json").exists()
    assert read_notes(idea).runs[1].label == "lr=0.03"
    assert '"run_1": "lr=0.03"' in (idea / "plot.py").read_text()
    code = idea / "run_1" / "code"
    again = code.parent / "again"
    subprocess.run(
        [sys.executable, "experiment.py", f"--out_dir={again}", "--params=params.json"], cwd=code, check=True
    )
    assert (again / "final_info.json").read_text() == (idea / "run_1" / "final_info.json").read_text()


def test_done_before_a_run_succeeded_and_out_of_range_settings_are_failed_attempts(
    prefect_harness, scripted, idea
):
    from flows.experiment import run_experiments

    scripted.add(
        {"contains": "this is run 1", "reply": step("done"), "times": 2},  # the reply and its repair
        {"contains": "this is run 1", "reply": settings(("lr", 5)), "times": 2},
        {"contains": "Edit plot.py", "reply": label("run_1")},
        {"contains": "this is run 1", "reply": settings(("lr", 0.03))},
    )
    summary = run_experiments(str(idea), max_runs=2)
    assert summary.runs == [1]
    records = [json.loads((idea / f"run_1.failed-{k}" / "attempt.json").read_text()) for k in (1, 2)]
    assert [r["status"] for r in records] == ["bad_reply", "bad_reply"]
    assert "'done' is not one of ['run']" in records[0]["message"]
    assert "5 is greater than the maximum of 1" in records[1]["message"]


def test_edits_that_fail_twice_leave_the_remaining_runs_to_parameters(prefect_harness, scripted, idea):
    from flows.experiment import run_experiments

    wrong = step(edits=edit("experiment.py", "LR = 7", "LR = 0.03"), label="lower LR")
    scripted.add(
        {"contains": "experiment.py now", "reply": wrong, "times": 2},
        {"contains": "Edit plot.py", "reply": label("run_1")},
        {"contains": "this is run 1", "reply": settings(("lr", 0.03))},
    )
    summary = run_experiments(str(idea), max_runs=2)
    assert summary.runs == [1]
    assert [
        json.loads((idea / f"run_1.failed-{k}" / "attempt.json").read_text())["status"] for k in (1, 2)
    ] == [
        "edit_error",
        "edit_error",
    ]
    third = prompts(scripted)[2]
    assert "experiment.py now" not in third and '"edits":' not in third
    assert json.loads((idea / "run_1" / "params.json").read_text()) == {"lr": 0.03}
