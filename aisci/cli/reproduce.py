"""`aisci reproduce`: re-run an idea's completed runs from their snapshots and compare every metric."""

from pathlib import Path
from typing import Annotated

import typer

from aisci.cli.options import Workspace, gpu_ids, settings_for


def reproduce(
    idea_dir: Annotated[Path, typer.Argument(help="Idea folder with completed runs.", file_okay=False)],
    runs: Annotated[str | None, typer.Option("--runs", help="Runs to re-run (e.g. 0,2).")] = None,
    gpus: Annotated[str | None, typer.Option("--gpus", help="GPU device ids, e.g. 0,1.")] = None,
    workspace: Workspace = None,
) -> None:
    """Re-run each completed run in a fresh sandbox, as it ran, and report which metrics agree.

    Writes IDEA_DIR/reproduce.json and keeps each reproduction in IDEA_DIR/reproductions/<n>/."""
    from rich.console import Console

    from aisci.reproduce import reproduce as run_reproduction

    try:
        chosen = [int(part) for part in runs.split(",") if part.strip()] if runs else None
    except ValueError:
        raise typer.BadParameter(f"{runs!r} is not a list of runs like 0,2", param_hint="--runs") from None
    report = run_reproduction(idea_dir, settings_for(workspace), chosen, gpu_ids(gpus))
    console = Console()
    for timing in (False, True):
        console.print(_table(report, timing))
    rate = f"{100 * report.rate:.0f}%" if report.rate is not None else "n/a"
    console.print(
        f"reproduction rate {rate}: {report.agreed} of {report.compared} metrics agree "
        f"(timings {report.timing_agreed} of {report.timing_compared}); "
        f"re-runs took {report.rerun_s:.1f} s against {report.original_s:.1f} s originally; "
        f"report: {idea_dir / 'reproduce.json'}"
    )
    for run in report.runs:
        if run.status in ("failed", "unreproducible"):
            console.print(f"run_{run.run}: {run.status}: {run.message}", style="red", markup=False)


def _table(report, timing: bool):
    from rich.table import Table

    from aisci.numbers import fmt, with_stderr

    def shown(value: float | None, stderr: float | None, basis: str) -> str:
        if value is None:
            return "not reached" if basis == "unreached" else "—"
        return with_stderr(value, stderr)

    title = "timing metrics (compared loosely, not counted)" if timing else "metrics"
    table = Table("run", "metric", "original", "re-run", "difference", "allowed", "agree", title=title)
    for run in report.runs:
        for c in run.checks:
            if c.timing != timing:
                continue
            table.add_row(
                f"run_{run.run}",
                c.name,
                shown(c.original, c.original_stderr, c.basis),
                shown(c.rerun, c.rerun_stderr, c.basis),
                fmt(c.difference) if c.difference is not None else "",
                f"{fmt(c.allowed)} ({c.basis})" if c.allowed is not None else c.basis,
                ("yes" if c.agree else "NO") + (f": {c.note}" if c.note else ""),
                style=None if c.agree else "red",
            )
    return table
