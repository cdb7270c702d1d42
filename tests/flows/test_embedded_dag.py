"""The whole DAG on the embedded model, as `scripts/demo.sh` runs it: one idea on 2d_diffusion at smoke size,
in the Docker sandbox, to a paper with its figures and results table, and a review."""

import json
import subprocess
from pathlib import Path

import pytest

from aisci.literature import S2Options
from aisci.settings import LOCAL_MODEL

pytestmark = [pytest.mark.local_model, pytest.mark.docker]


def test_the_embedded_model_takes_an_idea_to_a_paper_and_a_review(prefect_harness, isolated, aisci_env):
    from aisci.literature import NoveltyOptions
    from aisci.pipeline import IdeaOptions, SweepOptions
    from aisci.review import ReviewConfig
    from aisci.writeup import WriteupOptions
    from flows.sweep import sweep_flow

    aisci_env(AISCI_WORKSPACE=isolated / "ws", AISCI_SMOKE=1)
    unreachable = S2Options(api_url="http://127.0.0.1:9", max_retries=0, timeout_s=2)  # as offline as a demo
    options = SweepOptions(
        num_ideas=1,
        reflections=0,
        top_k=1,
        parallel=1,
        novelty=NoveltyOptions(rounds=1, s2=unreachable),
        idea=IdeaOptions(
            max_runs=1,
            max_attempts=3,
            writeup=WriteupOptions(fix_rounds=1, citation_rounds=0),
            review=ReviewConfig(ensemble=1, reflections=0),
        ),
    )
    summary = sweep_flow("2d_diffusion", options, sweep_id="embedded")
    (outcome,) = summary.outcomes
    assert outcome.status == "done", outcome.detail
    folder = Path(outcome.result.idea_dir)

    # the model set only declared parameters, and the run read them
    settings = json.loads((folder / "run_1" / "params.json").read_text())
    assert settings and json.loads((folder / "run_1" / "code" / "params.json").read_text()) == settings

    # every exchange went to the embedded model, and every structured reply it gave was accepted
    exchanges = [json.loads(line) for line in (folder / "transcript.jsonl").read_text().splitlines()]
    assert {e["model"] for e in exchanges} == {LOCAL_MODEL}
    assert {"ideation", "coding", "writing", "review"} <= {e["role"] for e in exchanges}

    # a paper a reader finds nothing wrong with: within the page limit, its figures and results table in it
    report = json.loads((folder / "build_report.json").read_text())
    assert report["ok"], report["problems"]
    assert report["text_pages"] <= report["page_limit"] and report["figures"]
    pdf = folder / "paper.pdf"
    images = subprocess.run(["pdfimages", "-list", pdf], capture_output=True, text=True, check=True)
    assert len(images.stdout.splitlines()[2:]) >= len(report["figures"])  # a line an image
    text = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True, check=True).stdout
    assert "eval loss" in text  # the results table's column of a primary metric

    review = json.loads((folder / "review.json").read_text())
    assert review["model"] == LOCAL_MODEL and [m["reflections"] for m in review["members"]] == [0]
    assert 1 <= review["overall"] <= 10 and review["decision"] in ("Accept", "Reject")
