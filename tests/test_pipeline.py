"""The real stages chained, as a user runs them: the 2d_diffusion template at smoke size in the Docker
sandbox, a scripted model that makes one real edit, plot.py drawing into figures/, the figure notes, the
writeup and the review. Every input of a stage is what the stage before it wrote; the PDF is checked as a
reader sees it."""

import json
import re
import subprocess

import pytest
from toy_template import REVIEW, edit, step
from writeup_fixture import script

from aisci.ideation import Idea, save_idea
from aisci.numbers import fmt_mean
from aisci.review import ReviewConfig
from aisci.settings import get_settings

pytestmark = pytest.mark.docker

LABEL = "learning rate 1e-3"
RESULTS = (
    "Table~\\ref{tab:results-1} compares the runs on the four datasets. Figure~\\ref{fig:train-loss} shows "
    "the training loss and Figure~\\ref{fig:generated-samples} the samples of each run."
)


def coding_rules() -> list[dict]:
    labels = f'    "run_0": "Baseline",\n    "run_1": "{LABEL}",'
    notes = {
        "figures": [
            {"file": "figures/train_loss.png", "description": "Training loss per dataset for each run."},
            {"file": "figures/generated_samples.png", "description": "Samples drawn by each run's model."},
        ]
    }
    return [
        {"contains": "Reply with: OK", "reply": "OK"},
        {
            "contains": "Edit plot.py",
            "reply": step(edits=edit("plot.py", '    "run_0": "Baseline",', labels)),
        },
        {"contains": "These figures were made", "reply": json.dumps(notes)},
        {"contains": "this is run 2", "reply": step("done", thought="run 1 answers the question")},
        {
            "contains": "this is run 1",
            "reply": json.dumps(
                {
                    "thought": "A larger step size may train the small denoiser faster.",
                    "action": "run",
                    "label": LABEL,
                    "description": "Raise the learning rate from 3e-4 to 1e-3.",
                    "edits": edit("experiment.py", "    lr: float = 3e-4", "    lr: float = 1e-3"),
                }
            ),
        },
        {"role": "review", "reply": REVIEW},
    ]


def test_a_smoke_run_of_2d_diffusion_ends_in_a_paper_a_reader_can_use(
    prefect_harness, scripted, isolated, aisci_env
):
    from aisci.pipeline import IdeaOptions
    from flows.idea import idea_flow

    aisci_env(
        AISCI_WORKSPACE=isolated / "ws",
        AISCI_SMOKE=1,
        AISCI_SANDBOX_BACKEND="docker",
        AISCI_MODELS__DEFAULT="openai/scripted",
        AISCI_LLM__API_BASE=scripted.url,
        AISCI_LLM__RETRY_BASE_DELAY_S=0.01,
        AISCI_RUN_TIMEOUT_S=600,
    )
    idea = Idea(
        name="faster_lr",
        title="Efficient Training of a Small Diffusion Denoiser with a Larger Learning Rate",
        hypothesis="A larger learning rate reaches a lower loss in the same number of steps.",
        experiment="Raise the learning rate in experiment.py.",
        risks="Training may diverge.",
        interestingness=3,
        feasibility=9,
        novelty=2,
        template="2d_diffusion",
        sweep_id="e2e",
    )
    folder = save_idea(get_settings().workspace, idea).parent
    (folder / "novelty.json").write_text(json.dumps({"idea": idea.name, "verdict": "novel"}))
    scripted.add(*coding_rules(), *script({"Results": RESULTS}))
    options = IdeaOptions(max_runs=2, max_attempts=2, review=ReviewConfig(ensemble=1, reflections=0))

    result = idea_flow(str(folder), options)

    assert result.status == "done" and result.runs == [1] and result.decision == "Reject"
    report = json.loads((folder / "build_report.json").read_text())
    pdf = folder / "paper.pdf"
    figures = sorted(p.name for p in (folder / "figures").glob("*.png"))
    assert figures == ["generated_samples.png", "train_loss.png"]
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True)
    assert sum(line.split()[2] == "image" for line in listing.stdout.splitlines()[2:]) == len(figures)
    log = (folder / "latex" / "paper.log").read_text(errors="replace")
    assert not re.findall(r"Overfull \\hbox \((\d+\.?\d*)pt too wide", log)
    assert report["ok"] is True and report["text_pages"] <= report["page_limit"] == 8, report["problems"]
    tex = (folder / "latex" / "paper.tex").read_text()
    main = tex[tex.index("\\label{sec:results}") : tex.index("\\label{sec:conclusion}")]
    for run in (0, 1):
        info = json.loads((folder / f"run_{run}" / "final_info.json").read_text())
        for dataset, entry in info.items():
            for metric in ("eval_loss", "kl_divergence"):
                mean, _ = fmt_mean(entry["means"][metric], entry.get("stderrs", {}).get(metric))
                assert f"${mean}$" in main or f"$\\mathbf{{{mean}}}$" in main, (dataset, metric, mean)
    text = " ".join(
        subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout.split()
    )
    assert f"Run 1: {LABEL}" in text and "Efficient Training" in text
    assert "Smoke-test results" in text
    assert json.loads((folder / "review.json").read_text())["decision"] == "Reject"
