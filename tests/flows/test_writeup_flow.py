"""The writeup flow: the one writeup loop with each step a task of the flow run, on the session harness."""

import subprocess

from writeup_fixture import finished_idea, script


def test_writeup_flow_writes_the_paper(prefect_harness, scripted, isolated, aisci_env):
    from prefect.artifacts import Artifact

    from flows.writeup import writeup_flow

    idea = finished_idea(isolated, scripted, aisci_env)
    scripted.add(*script())
    state = writeup_flow(idea, offline=True, return_state=True)
    assert state.is_completed()
    report = state.result()
    assert report.ok and report.citation_mode == "offline" and len(report.figures) == 2
    assert "novelty.json" in report.citation_note
    text = subprocess.run(["pdftotext", str(idea / "paper.pdf"), "-"], capture_output=True, text=True).stdout
    assert "Experimental Setup" in text and "Figure 1" in text
    artifact = Artifact.get("writeup")
    assert artifact is not None and "paper.pdf" in str(artifact.data) and "2 figures" in str(artifact.data)
    assert "Paper ready" in str(artifact.data)


def test_only_transient_failures_are_retried():
    from prefect.states import Failed

    from aisci.errors import BudgetExceeded, LLMAuthError, LLMError, LLMResponseError
    from tasks.writeup import write_section_task

    def retried(exc: Exception) -> bool:
        return write_section_task.retry_condition_fn(None, None, Failed(data=exc))

    assert retried(LLMError("kept failing after 6 attempts")) and retried(TimeoutError())
    assert retried(ConnectionResetError()) and write_section_task.retries == 2
    assert not retried(LLMAuthError("refused")) and not retried(LLMResponseError("bad", raw="x"))
    assert not retried(BudgetExceeded("spent")) and not retried(ValueError("bug"))
