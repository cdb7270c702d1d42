"""`aisci doctor`: preflight checks."""

from typing import Annotated

import typer

from aisci.cli.options import Workspace, settings_for

MARKS = {"ok": "[green]  ok[/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}


def doctor(
    workspace: Workspace = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
    skip_models: Annotated[
        bool, typer.Option("--skip-models", help="Do not call the configured models.")
    ] = False,
) -> None:
    """Check what a run needs: Python, LaTeX tools, Docker and the sandbox image, models, Semantic Scholar,
    workspace and disk. Exits 1 when something required is missing."""
    import json

    from rich.console import Console
    from rich.markup import escape

    from aisci.preflight import run_checks

    checks = run_checks(settings_for(workspace), models=not skip_models)
    if json_output:
        print(json.dumps([c.model_dump() for c in checks], indent=2))
    else:
        console = Console()
        for c in checks:
            fix = f"  [dim]→ {escape(c.fix)}[/]" if c.fix and c.status != "ok" else ""
            console.print(f"{MARKS[c.status]} {escape(c.name)}: {escape(c.detail)}{fix}", highlight=False)
    if any(c.status == "fail" for c in checks):
        raise typer.Exit(1)
