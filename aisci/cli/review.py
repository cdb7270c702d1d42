"""`aisci review`: review one paper with the ensemble reviewer."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from aisci.cli.options import Workspace, settings_for

if TYPE_CHECKING:
    from aisci.settings import Settings

Ensemble = Annotated[
    int, typer.Option("--ensemble", "-e", min=1, max=20, help="Independent reviews averaged.")
]
Reflections = Annotated[
    int,
    typer.Option("--reflections", "-r", min=0, max=10, help="Reflection rounds per review (stops early)."),
]
Threshold = Annotated[
    float | None,
    typer.Option(
        "--threshold",
        min=1,
        max=10,
        help="Mean Overall score at or above which to accept "
        "[default: the model's calibration from `aisci bench review`, else 6].",
    ),
]
Model = Annotated[str | None, typer.Option("--model", "-m", help="litellm model string for the review role.")]
Examples = Annotated[
    list[Path] | None,
    typer.Option(
        "--example",
        help="Few-shot example paper (.pdf/.txt) with its review beside it as <stem>.json; repeatable.",
        exists=True,
        dir_okay=False,
    ),
]


def with_review_model(settings: "Settings", model: str | None) -> "Settings":
    """Settings whose review role uses `model`, when given."""
    if not model:
        return settings
    return settings.model_copy(update={"models": settings.models.model_copy(update={"review": model})})


def review(
    paper: Annotated[
        Path, typer.Argument(help="The paper: a PDF or a text file.", exists=True, dir_okay=False)
    ],
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the review object as JSON, and nothing else.")
    ] = False,
    ensemble: Ensemble = 5,
    reflections: Reflections = 5,
    threshold: Threshold = None,
    model: Model = None,
    example: Examples = None,
    workspace: Workspace = None,
) -> None:
    """Review a paper: an ensemble of reviews with reflection, an area chair's meta-review, mean scores.

    The review and the transcript are written to <workspace>/review/<paper name>/."""
    from rich.console import Console
    from rich.table import Table

    from aisci.preflight import preflight
    from aisci.review import ReviewConfig, ReviewSteps, load_examples, review_paper
    from aisci.review.loop import REVIEW

    settings = with_review_model(settings_for(workspace), model)
    preflight(settings, "review")
    config = ReviewConfig(
        ensemble=ensemble, reflections=reflections, threshold=threshold, examples=load_examples(example or [])
    )
    run_dir = settings.workspace / "review" / paper.stem
    result = review_paper(paper, ReviewSteps(settings, config, run_dir))
    out = run_dir / REVIEW

    err = Console(stderr=True, highlight=False)
    if result.paper.truncated:
        err.print(f"note: {result.paper.note}", style="yellow", markup=False)
    for rejected in result.rejected:
        err.print(f"rejected reply ({rejected.step}): {rejected.error}", style="yellow", markup=False)
    if json_out:
        print(result.model_dump_json(indent=2))
        return
    console = Console(highlight=False)
    console.print(f"[bold]{paper.name}[/] reviewed by {result.model} ({len(result.members)} reviews)\n")
    console.print(result.form.summary, markup=False)
    for title, points in (("Strengths", result.form.strengths), ("Weaknesses", result.form.weaknesses)):
        console.print(f"\n[bold]{title}[/]")
        for point in points or ["(none given)"]:
            console.print(f"  - {point}", markup=False)
    table = Table("score", "ensemble mean")
    for name, value in result.scores.items():
        table.add_row(name, f"{value:.2f}")
    console.print(table)
    console.print(
        f"[bold]Decision: {result.decision}[/] (mean Overall {result.overall:.2f}, threshold "
        f"{result.threshold:g} from {result.threshold_source}; the model's own decision: "
        f"{result.model_decision})"
    )
    err.print(f"[dim]${result.cost_usd:.4f}, {result.elapsed_s:.1f} s; written to {out}[/]")
