"""`aisci ideas`: generate, rank and novelty-check a sweep of ideas for a template."""

from typing import Annotated

import typer

from aisci.cli.options import Workspace, run_flow, settings_for


def ideas(
    template: Annotated[
        str, typer.Option("--template", "-t", help="Template name (templates/NAME) or folder.")
    ],
    num_ideas: Annotated[int, typer.Option("--num-ideas", "-n", min=1, help="Ideas to generate.")] = 3,
    reflections: Annotated[
        int, typer.Option("--reflections", "-k", min=0, help="Reflection rounds per idea.")
    ] = 3,
    novelty_rounds: Annotated[
        int, typer.Option("--novelty-rounds", min=1, help="Model turns of each novelty check.")
    ] = 5,
    skip_unknown: Annotated[
        bool,
        typer.Option("--skip-unknown", help="Do not run ideas whose novelty could not be checked."),
    ] = False,
    workspace: Workspace = None,
) -> None:
    """Generate ideas for a template, check each one's novelty on Semantic Scholar, print them ranked.

    Each idea lands in <workspace>/<sweep-id>/<idea>/ as idea.json and novelty.json."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from aisci.ideation import load_template
    from aisci.literature import NoveltyOptions

    settings = settings_for(workspace)
    load_template(template)  # a wrong name fails here, before Prefect starts
    sweep = run_flow(
        "flows.ideation:ideation_flow",
        workspace,
        template=template,
        num_ideas=num_ideas,
        reflections=reflections,
        novelty=NoveltyOptions(rounds=novelty_rounds),
        run_unknown=not skip_unknown,
    )
    table = Table(title=f"sweep {sweep.sweep_id}")
    for column in ("#", "name", "title", "score", "I/F/N", "verdict", "run"):
        table.add_column(column, overflow="fold")
    for row in sweep.table():
        table.add_row(
            str(row["rank"]),
            escape(str(row["name"])),
            escape(str(row["title"])),
            f"{row['score']:.2f}",
            f"{row['interestingness']}/{row['feasibility']}/{row['novelty']}",
            str(row["verdict"]),
            str(row["run"]) + ("*" if row["note"] else ""),
        )
    console = Console()
    console.print(table)
    if any(s.note for s in sweep.ideas):
        console.print("* novelty unverified: Semantic Scholar could not be reached", highlight=False)
    if sweep.rejected:
        console.print(f"{len(sweep.rejected)} near-duplicate proposal(s) rejected", highlight=False)
    console.print(f"ideas in {settings.workspace / sweep.sweep_id}", highlight=False, soft_wrap=True)
