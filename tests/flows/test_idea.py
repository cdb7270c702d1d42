"""One idea's DAG end to end with the scripted model: experiments, paper, review; and a re-run that redoes
only the stage that failed."""

import json
import subprocess

import pytest
from toy_template import EXPERIMENT_RULES, REVIEW, make_toy_template, save_toy_idea
from writeup_fixture import script as writeup_script

from aisci.errors import LLMAuthError
from aisci.review import ReviewConfig
from aisci.settings import get_settings


@pytest.fixture
def idea_dir(isolated, scripted, aisci_env):
    make_toy_template(isolated / "templates" / "toy")
    aisci_env(
        AISCI_WORKSPACE=isolated / "ws",
        AISCI_SANDBOX_BACKEND="local",
        AISCI_MODELS__DEFAULT="openai/scripted",
        AISCI_LLM__API_BASE=scripted.url,
        AISCI_RUN_TIMEOUT_S=30,
    )
    return save_toy_idea(get_settings().workspace, "toy", "sweep-1")


def options():
    from flows.idea import IdeaOptions

    return IdeaOptions(max_runs=2, review=ReviewConfig(ensemble=1, reflections=0))


def test_an_idea_goes_from_code_to_reviewed_paper(prefect_harness, scripted, idea_dir):
    from flows.idea import idea_flow

    scripted.add(*EXPERIMENT_RULES, {"role": "review", "reply": REVIEW}, *writeup_script())
    result = idea_flow(str(idea_dir), options())
    assert result.status == "done" and result.runs == [1]
    assert (idea_dir / "run_0" / "final_info.json").is_file() and (idea_dir / "run_1.py").is_file()
    text = subprocess.run(["pdftotext", result.pdf, "-"], capture_output=True, text=True, check=True).stdout
    assert "Experimental Setup" in text
    review = json.loads((idea_dir / "review.json").read_text())
    assert review["decision"] == "Reject" and result.overall == 4
    archived = json.loads(next((get_settings().workspace / "archive" / "toy").glob("*.json")).read_text())
    assert archived["outcome"]["experiment"] == "ok" and archived["outcome"]["review_overall"] == 4


def test_a_rerun_redoes_only_the_failed_stage(prefect_harness, scripted, idea_dir):
    from flows.idea import idea_flow

    scripted.add(
        *EXPERIMENT_RULES, {"role": "review", "status": 401, "message": "key revoked"}, *writeup_script()
    )
    state = idea_flow(str(idea_dir), options(), return_state=True)
    assert state.is_failed()
    with pytest.raises(LLMAuthError):
        state.result()
    assert (idea_dir / "paper.pdf").is_file()
    paper_mtime = (idea_dir / "paper.pdf").stat().st_mtime_ns

    scripted.rules.clear()
    scripted.requests.clear()
    scripted.add({"role": "review", "reply": REVIEW})
    result = idea_flow(str(idea_dir), options())
    assert result.status == "done" and result.decision == "Reject"
    roles = {r["headers"]["x-aisci-role"] for r in scripted.requests}
    assert roles == {"review"}  # experiments and writeup came from the cache
    assert (idea_dir / "paper.pdf").stat().st_mtime_ns == paper_mtime


def test_improvement_revises_the_paper_to_answer_its_review(prefect_harness, scripted, idea_dir):
    from flows.idea import IdeaOptions, idea_flow

    scripted.add(*EXPERIMENT_RULES, {"role": "review", "reply": REVIEW}, *writeup_script())
    options = IdeaOptions(max_runs=2, improve=True, review=ReviewConfig(ensemble=1, reflections=0))
    result = idea_flow(str(idea_dir), options)
    assert result.status == "done"
    improvement = json.loads((idea_dir / "improvement" / "improvement.json").read_text())
    assert improvement["before"]["overall"] == 4 and improvement["after"]["overall"] == 4
    assert (idea_dir / "improvement" / "paper-reviewed.pdf").is_file() and (idea_dir / "paper.pdf").is_file()
    revision_prompts = [
        m["content"]
        for r in scripted.requests
        if r["headers"].get("x-aisci-role") == "writing"
        for m in r["body"]["messages"]
        if "A reviewer's report on the previous version" in m["content"]
    ]
    assert revision_prompts and "one toy task only" in revision_prompts[0]
