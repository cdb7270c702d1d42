"""`aisci run`: the main job, a whole sweep."""

from typing import TYPE_CHECKING, Annotated

import typer

from aisci.cli.options import Workspace, run_flow, settings_for

if TYPE_CHECKING:
    from aisci.pipeline import IdeaResult


def run(
    template: Annotated[
        str, typer.Option("--template", "-t", help="Template name (templates/NAME) or folder.")
    ],
    num_ideas: Annotated[int, typer.Option("--num-ideas", "-n", min=1, help="Ideas to generate.")] = 3,
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="Best ideas that go on to experiments.")] = 2,
    parallel: Annotated[int, typer.Option("--parallel", min=1, help="Ideas running at the same time.")] = 2,
    reflections: Annotated[int, typer.Option("--reflections", min=0, help="Reflection rounds per idea.")] = 3,
    max_runs: Annotated[int, typer.Option("--max-runs", min=1, help="Experiment runs per idea.")] = 5,
    max_attempts: Annotated[int, typer.Option("--max-attempts", min=1, help="Tries per run.")] = 4,
    fix_rounds: Annotated[int, typer.Option("--fix-rounds", min=0, help="Paper fix rounds.")] = 3,
    ensemble: Annotated[int, typer.Option("--ensemble", min=1, help="Reviews averaged per paper.")] = 5,
    review_reflections: Annotated[
        int, typer.Option("--review-reflections", min=0, help="Reflection rounds per review.")
    ] = 5,
    reproduce: Annotated[
        bool, typer.Option("--reproduce", help="Re-run each idea's runs and report how many numbers agree.")
    ] = False,
    workspace: Workspace = None,
) -> None:
    """Run a sweep: ideas and their novelty, then the best ideas through experiments, paper and review."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from aisci.pipeline import IdeaOptions, SweepOptions
    from aisci.review import ReviewConfig
    from aisci.templates import resolve
    from aisci.writeup import WriteupOptions

    settings = settings_for(workspace)
    resolve(template)  # a wrong name fails here, before Prefect starts

    idea = IdeaOptions(
        max_runs=max_runs,
        max_attempts=max_attempts,
        writeup=WriteupOptions(fix_rounds=fix_rounds),
        review=ReviewConfig(ensemble=ensemble, reflections=review_reflections),
        reproduce=reproduce,
    )
    options = SweepOptions(
        num_ideas=num_ideas, reflections=reflections, top_k=top_k, parallel=parallel, idea=idea
    )
    summary = run_flow("flows.sweep:sweep_flow", workspace, template, options)
    table = Table(
        "idea", "status", "runs", "Overall", "decision", "paper", "detail", title=f"sweep {summary.sweep_id}"
    )
    for outcome in summary.outcomes:
        result = outcome.result
        table.add_row(
            escape(outcome.idea),
            outcome.status,
            ", ".join(map(str, result.runs)) if result else "",
            f"{result.overall:.1f}" if result and result.overall is not None else "",
            (result.decision or "") if result else "",
            escape(_paper(result)) if result else "",
            escape(outcome.detail),
        )
    console = Console()
    console.print(table)
    if summary.reproduction_rate is not None:
        console.print(f"reproduction rate {100 * summary.reproduction_rate:.0f}% (mean over ideas)")
    console.print(f"cost ${summary.cost_usd:.4f}; everything is in {settings.workspace / summary.sweep_id}")
    ui = settings.prefect.api_url
    console.print(
        f"Prefect UI: {ui.removesuffix('/api')}"
        if ui
        else "runs are in the embedded Prefect API; `aisci up` serves a UI",
        highlight=False,
    )


def _paper(result: "IdeaResult") -> str:
    """The PDF, and whether a reader would find it right (build_report.json's problems)."""
    if not result.pdf:
        return ""
    if result.paper_problems:
        return f"{result.pdf} (not ready: {'; '.join(result.paper_problems)})"
    return f"{result.pdf} ({result.paper_warnings} warnings)" if result.paper_warnings else result.pdf
