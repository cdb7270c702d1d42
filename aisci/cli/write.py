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
    from rich.progress import Progress

    from aisci.preflight import preflight
    from aisci.writeup import Writeup, WriteupOptions
    from aisci.writeup.paper import load_context
    from aisci.writeup.writer import run_writeup

    settings = settings_for(workspace)
    preflight(settings, "write")
    options = WriteupOptions(fix_rounds=fix_rounds)
    context = load_context(idea_dir, template, options.page_limit)
    console = Console(stderr=True, highlight=False)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("writeup", total=None)

        class ShownWriteup(Writeup):
            def progress(self, done: int, total: int, step: str) -> None:
                bar.update(task, completed=done, total=total, description=step)

        report = run_writeup(ShownWriteup(context, settings, options, offline=offline))
    status = "ready" if report.ok else "NOT READY"
    console.print(
        f"{report.pdf or 'no PDF'}: {status}; {report.text_pages or 0} of {report.page_limit or '-'} "
        f"main-text pages ({report.pages or 0} in all), {len(report.figures)} figures, "
        f"{len(report.rounds)} build round(s)"
    )
    for line in report.problems:
        console.print(f"  problem: {line}", markup=False, style="red")
    for line in report.warnings:
        console.print(f"  warning: {line}", markup=False)
    print(idea_dir / "build_report.json")
    if not report.ok:
        raise typer.Exit(1)
