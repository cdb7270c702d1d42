"""`aisci write`: the paper of one finished idea."""

from pathlib import Path
from typing import Annotated

import typer

from aisci.cli.options import Workspace, settings_for


def write(
    idea_dir: Annotated[
        Path,
        typer.Argument(help="Folder of one finished idea (idea.json, run_*/).", exists=True, file_okay=False),
    ],
    template: Annotated[
        Path | None, typer.Option("--template", help="Template folder whose latex/ to use.", file_okay=False)
    ] = None,
    fix_rounds: Annotated[int, typer.Option("--fix-rounds", min=0, help="Compile-fix rounds.")] = 3,
    offline: Annotated[bool, typer.Option("--offline", help="Cite only papers from novelty.json.")] = False,
    workspace: Workspace = None,
) -> None:
    """Write, build and check the LaTeX paper: IDEA_DIR/paper.pdf and IDEA_DIR/build_report.json."""
    from rich.console import Console

    from aisci.doctor import preflight
    from aisci.writeup import WriteupOptions, write_paper
    from aisci.writeup.citations import s2_search

    settings = settings_for(workspace)
    preflight(settings, "write")
    report = write_paper(
        idea_dir,
        settings,
        WriteupOptions(fix_rounds=fix_rounds),
        search=None if offline else s2_search(settings),
        template_dir=template,
    )
    console = Console(stderr=True, highlight=False)
    status = "built cleanly" if report.ok else "did not build"
    console.print(
        f"{report.pdf or 'no PDF'}: {status}, {report.pages or 0} pages, {len(report.rounds)} round(s)"
    )
    if report.smoke_results:
        console.print("the results are smoke tests, not full experiments", style="yellow")
    for line in report.remaining:
        console.print(f"  {line}", markup=False)
    print(idea_dir / "build_report.json")
    if not report.ok:
        raise typer.Exit(1)
