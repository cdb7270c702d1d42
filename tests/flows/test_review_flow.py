"""The review flow: one task per ensemble member, the meta-review, review.json and a score artifact."""

import json

import pytest
from review_fixtures import reflection, reply

from aisci.errors import BudgetExceeded, LLMError, LLMResponseError
from aisci.review import ReviewConfig
from aisci.settings import get_settings


def test_review_flow_runs_one_task_per_member(prefect_harness, scripted, monkeypatch, tmp_path):
    from prefect.artifacts import Artifact

    from flows.review import review_flow

    monkeypatch.setenv("AISCI_MODELS__DEFAULT", "openai/scripted")
    monkeypatch.setenv("AISCI_LLM__API_BASE", scripted.url)
    monkeypatch.setenv("AISCI_LLM__RETRY_BASE_DELAY_S", "0.01")
    monkeypatch.setenv("AISCI_WORKSPACE", str(tmp_path / "ws"))
    get_settings.cache_clear()  # importing flows built the settings before the variables above were set
    scripted.add(
        {"contains": "area chair", "reply": reply(6, decision="Reject", summary="Meta.")},
        {
            "contains": "Reflection round 1 of 1",
            "reply": reflection(5, done=True),
        },
        {"reply": reply(9)},
    )
    (tmp_path / "paper.txt").write_text("Flow paper: a study of cosine schedules.")
    state = review_flow(tmp_path / "paper.txt", ReviewConfig(ensemble=3, reflections=1), return_state=True)
    assert state.is_completed()
    review = state.result()
    assert len(review.members) == 3 and all(m.reflections == 1 for m in review.members)
    assert review.overall == 5.0 and review.decision == "Reject" and review.form.summary == "Meta."
    saved = json.loads((tmp_path / "ws" / "review" / "paper" / "review.json").read_text())
    assert saved["overall"] == 5.0
    transcript = (tmp_path / "ws" / "review" / "paper" / "transcript.jsonl").read_text().splitlines()
    assert len(transcript) == 7  # 3 reviews, 3 reflections, 1 meta-review
    artifact = Artifact.get("review-scores")
    assert artifact is not None and "overall" in str(artifact.data)


def test_a_flow_whose_every_review_is_invalid_fails_with_the_raw_reply(
    prefect_harness, scripted, monkeypatch, tmp_path
):
    from flows.review import review_flow

    monkeypatch.setenv("AISCI_MODELS__DEFAULT", "openai/scripted")
    monkeypatch.setenv("AISCI_LLM__API_BASE", scripted.url)
    get_settings.cache_clear()
    scripted.add({"reply": "A fine paper, 11 out of 10."})
    (tmp_path / "paper.txt").write_text("A paper.")
    config = ReviewConfig(ensemble=1, reflections=0)
    state = review_flow(tmp_path / "paper.txt", config, run_dir=tmp_path / "run", return_state=True)
    assert state.is_failed()
    with pytest.raises(LLMResponseError, match="every review") as caught:
        state.result()
    assert "11 out of 10" in caught.value.raw
    assert not (tmp_path / "run" / "review.json").exists()


def test_review_bench_flow_publishes_the_metrics_table(prefect_harness, scripted, monkeypatch, tmp_path):
    from prefect.artifacts import Artifact

    from flows.review import review_bench_flow

    monkeypatch.setenv("AISCI_MODELS__DEFAULT", "openai/scripted")
    monkeypatch.setenv("AISCI_LLM__API_BASE", scripted.url)
    monkeypatch.setenv("AISCI_WORKSPACE", str(tmp_path / "ws"))
    get_settings.cache_clear()
    scripted.add({"contains": "STRONG", "reply": reply(8)}, {"reply": reply(2)})
    (tmp_path / "a.txt").write_text("A STRONG paper.")
    (tmp_path / "r.txt").write_text("A weak paper.")
    (tmp_path / "set.csv").write_text("paper_id,decision,path\na,Accept,a.txt\nr,Reject,r.txt\n")
    report = review_bench_flow(tmp_path / "set.csv", ReviewConfig(ensemble=1, reflections=0), concurrency=2)
    assert report.metrics["accuracy"].value == 1.0 and report.metrics["roc_auc"].value == 1.0
    artifact = Artifact.get("review-bench")
    assert artifact is not None and "balanced_accuracy" in str(artifact.data)


def test_only_transient_failures_are_retried():
    from prefect.states import Failed

    from tasks.review import review_member

    retry = review_member.retry_condition_fn
    assert review_member.retries >= 1
    assert retry(None, None, Failed(data=LLMError("provider kept failing")))
    assert not retry(None, None, Failed(data=LLMResponseError("bad reply", raw="x")))
    assert not retry(None, None, Failed(data=BudgetExceeded("spent")))
