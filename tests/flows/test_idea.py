"""One idea's DAG end to end with the scripted model: experiments, paper, review; and a re-run that redoes
only the stage that failed."""

import json
import re
import subprocess

import pytest
from toy_template import EXPERIMENT_RULES, REVIEW, make_toy_template, save_toy_idea
from waiting import wait_for
from writeup_fixture import script as writeup_script

from aisci.errors import LLMAuthError
from aisci.review import ReviewConfig
from aisci.settings import get_settings


@pytest.fixture
def idea_dir(isolated, scripted_env):
    make_toy_template(isolated / "templates" / "toy")
    scripted_env(isolated / "ws")
    return save_toy_idea(get_settings().workspace, "toy", "sweep-1")


def stage_steps(flow_run_id) -> dict[str, set[str]]:
    """The step tasks of each stage task, which all belong to the idea's one flow run (no subflows)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterParentFlowRunId

    def steps():
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        name = {r.id: re.sub(r"-[0-9a-f]{3}$", "", r.name) for r in runs}  # without Prefect's run key
        nested: dict[str, set[str]] = {}
        for run in runs:
            for parent in run.task_inputs.get("__parents__", []):
                nested.setdefault(name.get(parent.id, "?"), set()).add(name[run.id])
        return len(nested) == 3 and nested

    with get_client(sync_client=True) as client:
        found = wait_for(steps, timeout=30, what="the idea's task runs")
        children = FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id]))
        assert client.read_flow_runs(flow_run_filter=children) == []
    return found


def options():
    from aisci.pipeline import IdeaOptions

    return IdeaOptions(max_runs=2, review=ReviewConfig(ensemble=1, reflections=0))


def test_an_idea_goes_from_code_to_reviewed_paper(prefect_harness, scripted, idea_dir):
    from flows.idea import idea_flow

    scripted.add(*EXPERIMENT_RULES, {"role": "review", "reply": REVIEW}, *writeup_script())
    state = idea_flow(str(idea_dir), options(), return_state=True)
    result = state.result()
    assert result.status == "done" and result.runs == [1]
    steps = stage_steps(state.state_details.flow_run_id)
    assert {"baseline", "run_1-attempt_1", "plots"} <= steps["experiments"]
    assert {"section-introduction", "build-round-1", "finish_writeup_task"} <= steps["writeup"]
    assert steps["review"] == {"read-paper", "reviewer-0", "meta-review"}
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
    from aisci.pipeline import IdeaOptions
    from flows.idea import idea_flow

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
