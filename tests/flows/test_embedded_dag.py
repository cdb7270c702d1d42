"""The whole DAG on the embedded model, as `scripts/demo.sh` runs it: one idea on 2d_diffusion at smoke size,
in the Docker sandbox, to a paper with its figures and tables and a review."""

import json
import subprocess
from pathlib import Path

import pytest

from aisci.literature import S2Options


@pytest.mark.local_model
def test_the_embedded_model_takes_an_idea_to_a_paper_and_a_review(prefect_harness, isolated, aisci_env):
    from aisci.review import ReviewConfig
    from aisci.writeup import WriteupOptions
    from flows.idea import IdeaOptions
    from flows.sweep import SweepOptions, sweep_flow
    from tasks.ideas import NoveltyOptions

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
    settings = json.loads((folder / "run_1" / "params.json").read_text())
    assert settings and json.loads((folder / "run_1" / "code" / "params.json").read_text()) == settings
    assert (folder / "paper.pdf").is_file() and json.loads((folder / "review.json").read_text())["overall"]
    images = subprocess.run(["pdfimages", "-list", folder / "paper.pdf"], capture_output=True, text=True)
    assert len(images.stdout.splitlines()) > 2  # two header lines, then one line per embedded figure
    text = subprocess.run(["pdftotext", folder / "paper.pdf", "-"], capture_output=True, text=True).stdout
    assert "eval loss" in text  # the results table's column of a primary metric
