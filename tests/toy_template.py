"""A toy research template, seconds to run, and the coding model's replies for it."""

import json
import textwrap
from pathlib import Path

from review_fixtures import form

EXPERIMENT = textwrap.dedent(
    """\
    import argparse
    import json
    from pathlib import Path

    LR = 0.1

    parser = argparse.ArgumentParser()
    parser.add_argument("--out_dir", default="run_0")
    out = Path(parser.parse_args().out_dir)
    out.mkdir(parents=True, exist_ok=True)
    loss = (LR - 0.03) ** 2
    (out / "final_info.json").write_text(json.dumps({"toy": {"means": {"loss": loss}}}))
    """
)
PLOT = textwrap.dedent(
    """\
    import argparse
    import json
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = {
        "run_0": "Baseline",
    }

    parser = argparse.ArgumentParser()
    parser.add_argument("--out_dir", default=".")
    out = Path(parser.parse_args().out_dir)
    out.mkdir(parents=True, exist_ok=True)
    losses = [json.loads(Path(run, "final_info.json").read_text())["toy"]["means"]["loss"] for run in labels]
    fig, ax = plt.subplots()
    ax.bar(list(labels.values()), losses)
    fig.savefig(out / "loss.png")
    """
)


def edit(path, search, replace):
    return f"{path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


def step(action="run", edits="", description="", thought="", label=""):
    reply = {"thought": thought, "action": action, "label": label, "description": description, "edits": edits}
    return json.dumps(reply)


def label(*runs):
    added = "".join(f'\n    "{run}": "LR {run}",' for run in runs)
    return step(edits=edit("plot.py", '    "run_0": "Baseline",', '    "run_0": "Baseline",' + added))


FIGURES = json.dumps(
    {"figures": [{"file": "loss.png", "description": "Loss per run: tuning the LR removes it."}]}
)


LATEX = r"""\documentclass{article}
\usepackage{natbib}
\usepackage{graphicx}
\title{TITLE}
\begin{document}
\maketitle
\bibliographystyle{plainnat}
\bibliography{references}
\end{document}
"""


def save_toy_idea(
    workspace: Path, template: str, sweep_id: str, name: str = "tune_lr", template_dir: str = ""
) -> Path:
    """An idea on the toy template, saved as a sweep would leave it, already judged novel."""
    from aisci.ideation import Idea, save_idea

    idea = Idea(
        name=name,
        title="Tuning the learning rate of a toy loss",
        hypothesis="A smaller learning rate lowers the loss.",
        experiment="Lower LR in experiment.py.",
        risks="None.",
        interestingness=3,
        feasibility=9,
        novelty=2,
        template=template,
        template_dir=template_dir,
        sweep_id=sweep_id,
    )
    folder = save_idea(workspace, idea).parent
    (folder / "novelty.json").write_text(json.dumps({"idea": name, "verdict": "novel"}))
    return folder


def make_toy_template(folder: Path) -> Path:
    """experiment.py, plot.py, prompt.json and a LaTeX skeleton."""
    (folder / "latex").mkdir(parents=True)
    (folder / "experiment.py").write_text(EXPERIMENT)
    (folder / "plot.py").write_text(PLOT)
    (folder / "prompt.json").write_text(
        json.dumps({"system": "You study toys.", "task_description": "A toy loss."})
    )
    (folder / "latex" / "template.tex").write_text(LATEX)
    (folder / "latex" / "references.bib").write_text("")
    return folder


REVIEW = json.dumps(form(4, "Reject", weaknesses=["one toy task only"]))
# The coding model's replies for one idea on the toy template: run 1 lowers the LR, then it is done.
EXPERIMENT_RULES = [
    {"contains": "Edit plot.py", "reply": label("run_1")},
    {"contains": "These figures were made", "reply": FIGURES},
    {"contains": "this is run 2", "reply": step("done")},
    {"contains": "this is run 1", "reply": step(edits=edit("experiment.py", "LR = 0.1", "LR = 0.03"))},
]
