"""The experiment stage under Prefect, with the scripted model and the local sandbox backend."""

import json

import pytest
from toy_template import FIGURES, edit, label, make_toy_template, step

from aisci.errors import ExperimentFailed, LLMAuthError
from aisci.settings import get_settings


@pytest.fixture
def idea(tmp_path, scripted, monkeypatch):
    folder = make_toy_template(tmp_path / "sweep" / "tune-lr")
    (folder / "idea.json").write_text(json.dumps({"Name": "tune-lr", "Title": "Tuning the learning rate"}))
    monkeypatch.setenv("AISCI_SANDBOX_BACKEND", "local")
    monkeypatch.setenv("AISCI_MODELS__DEFAULT", "openai/scripted")
    monkeypatch.setenv("AISCI_LLM__API_BASE", scripted.url)
    monkeypatch.setenv("AISCI_RUN_TIMEOUT_S", "20")
    get_settings.cache_clear()
    scripted.add(
        {"contains": "Edit plot.py", "reply": label("run_1")},
        {"contains": "These figures were made", "reply": FIGURES},
        {"contains": "this is run 2", "reply": step("done", thought="run 1 answered it")},
    )
    return folder


def prompts(scripted):
    return ["\n".join(m["content"] for m in r["body"]["messages"]) for r in scripted.requests]


def test_first_run_succeeds_with_a_fuzzy_edit_notes_and_labelled_plots(prefect_harness, scripted, idea):
    from flows.experiment import run_experiments

    fix_lr = edit("experiment.py", "LR  =  0.1", "LR = 0.03")  # wrong spacing: matched ignoring whitespace
    scripted.add(
        {"contains": "this is run 1", "reply": step(edits=fix_lr, description="Lower the LR to 0.03.")}
    )
    summary = run_experiments(str(idea), max_runs=3)
    assert summary.runs == [1] and summary.figures == ["loss.png"]
    assert summary.ended_by == "the model, before run 2"
    assert json.loads((idea / "run_1" / "final_info.json").read_text()) == {"toy": {"means": {"loss": 0.0}}}
    assert "LR = 0.03" in (idea / "run_1.py").read_text()
    notes = (idea / "notes.txt").read_text()
    assert "## Run 1\nLower the LR to 0.03." in notes
    assert "- toy.loss = 0 (baseline 0.0049, -100.0%)" in notes
    assert "- figures/loss.png: Loss per run: tuning the LR removes it." in notes
    assert '"run_1": "LR run_1"' in (idea / "plot.py").read_text()
    assert (idea / "figures" / "loss.png").stat().st_size > 1000
    assert (idea / "transcript.jsonl").exists()
    again = run_experiments(str(idea), max_runs=3)  # complete: nothing is asked again
    assert again == summary and len(scripted.requests) == 4


def test_a_crash_is_fed_back_and_fixed(prefect_harness, scripted, idea):
    from flows.experiment import run_experiments

    scripted.add(
        {
            "contains": "Attempt 1 of run 1 failed",
            "reply": step(edits=edit("experiment.py", 'raise RuntimeError("boom")', "LR = 0.05")),
        },
        {
            "contains": "this is run 1",
            "reply": step(edits=edit("experiment.py", "LR = 0.1", 'raise RuntimeError("boom")')),
        },
    )
    summary = run_experiments(str(idea), max_runs=2)
    assert summary.runs == [1]
    failed = json.loads((idea / "run_1.failed-1" / "attempt.json").read_text())
    assert failed["status"] == "failed" and "RuntimeError: boom" in failed["stderr_tail"]
    assert any("RuntimeError: boom" in p for p in prompts(scripted))
    assert json.loads((idea / "run_1" / "final_info.json").read_text())["toy"]["means"][
        "loss"
    ] == pytest.approx(4e-4)


def test_a_timeout_is_reported_as_such(prefect_harness, scripted, idea, monkeypatch):
    from flows.experiment import run_experiments

    monkeypatch.setenv("AISCI_RUN_TIMEOUT_S", "3")
    get_settings.cache_clear()
    scripted.add(
        {
            "contains": "stopped at the time limit",
            "reply": step(edits=edit("experiment.py", "import time; time.sleep(60)", "LR = 0.03")),
        },
        {
            "contains": "this is run 1",
            "reply": step(edits=edit("experiment.py", "LR = 0.1", "import time; time.sleep(60)")),
        },
    )
    summary = run_experiments(str(idea), max_runs=2)
    assert summary.runs == [1]
    failed = json.loads((idea / "run_1.failed-1" / "attempt.json").read_text())
    assert failed["status"] == "timeout" and failed["duration_s"] < 15


def test_an_edit_outside_the_code_folder_is_refused(prefect_harness, scripted, idea):
    from flows.experiment import run_experiments

    scripted.add(
        {
            "contains": "'..' is not allowed",
            "reply": step(edits=edit("experiment.py", "LR = 0.1", "LR = 0.03")),
        },
        {"contains": "this is run 1", "reply": step(edits=edit("../escape.py", "", "print('out')"))},
    )
    summary = run_experiments(str(idea), max_runs=2)
    assert summary.runs == [1]
    assert not (idea.parent / "escape.py").exists()
    assert json.loads((idea / "run_1.failed-1" / "attempt.json").read_text())["status"] == "edit_error"


def test_every_attempt_failing_fails_the_flow_and_keeps_the_attempts(prefect_harness, scripted, idea):
    from flows.experiment import run_experiments

    scripted.add(
        {
            "contains": "this is run 1",
            "reply": step(edits=edit("experiment.py", "loss = (LR - 0.03) ** 2", "loss = 1 / 0")),
        }
    )
    state = run_experiments(str(idea), max_runs=2, max_attempts=2, return_state=True)
    assert state.is_failed()
    with pytest.raises(ExperimentFailed, match="no run succeeded \\(run 1 failing 2 attempts\\)"):
        state.result()
    assert (idea / "run_1.failed-1").is_dir() and (idea / "run_1.failed-2").is_dir()


def test_resume_after_a_crash_continues_at_the_next_run(prefect_harness, scripted, idea):
    from flows.experiment import run_experiments

    scripted.rules.clear()
    scripted.add(
        {"contains": "this is run 2", "status": 401, "message": "key revoked"},
        {
            "contains": "this is run 1",
            "reply": step(edits=edit("experiment.py", "LR = 0.1", "LR = 0.05"), description="LR 0.05"),
        },
    )
    state = run_experiments(str(idea), max_runs=3, return_state=True)
    assert state.is_failed()
    with pytest.raises(LLMAuthError):
        state.result()
    first = (idea / "run_1" / "attempt.json").stat().st_mtime_ns

    scripted.rules.clear()
    scripted.requests.clear()
    scripted.add(
        {"contains": "Edit plot.py", "reply": label("run_1", "run_2")},
        {"contains": "These figures were made", "reply": FIGURES},
        {
            "contains": "this is run 2",
            "reply": step(edits=edit("experiment.py", "LR = 0.05", "LR = 0.03"), description="LR 0.03"),
        },
        {"contains": "this is run 3", "reply": step("done")},
    )
    summary = run_experiments(str(idea), max_runs=3)
    assert summary.runs == [1, 2]
    assert (idea / "run_1" / "attempt.json").stat().st_mtime_ns == first
    assert not any("this is run 1" in p for p in prompts(scripted))
    assert "LR = 0.05" in (idea / "run_1.py").read_text() and "LR = 0.03" in (idea / "run_2.py").read_text()
