"""What the models are told for the plots: the coding model edits plot.py's legend names, the writing model
describes the figures. The callers read the idea folder; these builders only format."""

from typing import Any

from aisci.edits import FORMAT_GUIDE
from aisci.experiment.notes import FIGURES

PLOT_TASK = """Edit plot.py so its `labels` dict names every completed run, with its label from the notes as
the legend name:
{runs}
Runs not listed are left out of the figures. plot.py runs as `python plot.py --out_dir=figures` and must write
PNG files into that folder.

## Edit format
{format_guide}

## plot.py now
```python
{code}
```

## Notes
{notes}

Reply with action "run", a description, and the edits."""

RETRY = """

## Attempt {attempt} failed
{problem}
Fix it."""

FIGURES_SEEN = """These figures were made from the runs described in the notes; each image follows its file
name. For each figure, write what it shows and what a reader should conclude, for the paper's writer. Say only
what you can see in the image.

Figures: {figures}

## Notes
{notes}"""

FIGURES_FROM_DATA = """These figures were made from the runs described in the notes, by plot.py below. You
cannot see them: describe each one from plot.py's code and the data it reads, for the paper's writer (what is
plotted against what, for which runs, and what the numbers say a reader should conclude). Do not claim
details of the curves that the data below does not give.

Figures: {figures}

## plot.py
```python
{code}
```

## The runs' results (final_info.json)
{results}

## Notes
{notes}"""


def plot_messages(labels: dict[str, str], code: str, notes: str, problem: str) -> list[dict[str, Any]]:
    """The plot.py edit step; `labels` maps run folders to legend names, `problem` is what went wrong with the
    previous attempt (empty at the first)."""
    user = PLOT_TASK.format(
        runs="\n".join(f"- {run}: {label}" for run, label in labels.items()),
        format_guide=FORMAT_GUIDE,
        code=code,
        notes=notes,
    )
    return [{"role": "user", "content": user + problem}]


def retry_text(attempt: int, problem: str) -> str:
    """What the next plot.py edit is told about attempt `attempt`'s problem."""
    return RETRY.format(attempt=attempt, problem=problem)


def figures_seen_messages(figures: list[str], shown: dict[str, str], notes: str) -> list[dict[str, Any]]:
    """The figure-notes step for a model that sees images; `shown` maps figure names to data URLs."""
    parts: list[dict[str, Any]] = [
        {"type": "text", "text": FIGURES_SEEN.format(figures=", ".join(figures), notes=notes)}
    ]
    for name, url in shown.items():
        parts.append({"type": "text", "text": f"Figure file: {FIGURES}/{name}"})
        parts.append({"type": "image_url", "image_url": {"url": url}})
    return [{"role": "user", "content": parts}]


def figures_from_data_messages(
    figures: list[str], code: str, results: str, notes: str
) -> list[dict[str, Any]]:
    """The figure-notes step for a model without images: plot.py and the data it drew stand in for them."""
    user = FIGURES_FROM_DATA.format(figures=", ".join(figures), code=code, results=results, notes=notes)
    return [{"role": "user", "content": user}]
