"""`aisci experiment`: the experiment stage on one idea folder."""

from pathlib import Path
from typing import Annotated

import typer

from aisci.cli.options import Workspace, gpu_ids, run_flow


def experiment(
    idea_dir: Annotated[
        Path, typer.Argument(help="Idea folder (template code + idea.json).", file_okay=False)
    ],
    max_runs: Annotated[int, typer.Option("--max-runs", min=1, help="Runs after the baseline.")] = 5,
    max_attempts: Annotated[int, typer.Option("--max-attempts", min=1, help="Tries per run.")] = 4,
    gpus: Annotated[str | None, typer.Option("--gpus", help="GPU device ids, e.g. 0,1.")] = None,
    workspace: Workspace = None,
) -> None:
    """Let the coding model edit and run the experiment in the sandbox, then plot the results.

    Running it again on the same folder continues after the last completed run."""
    from rich.console import Console
    from rich.table import Table

    from aisci.errors import ConfigError

    if not (idea_dir / "experiment.py").is_file():
        raise ConfigError(f"{idea_dir} has no experiment.py", hint="pass an idea folder made from a template")
    summary = run_flow(
        "flows.experiment:run_experiments", workspace, str(idea_dir), max_runs, max_attempts, gpu_ids(gpus)
    )
    table = Table("run", "code", "results", title=f"{idea_dir.name}: ended by {summary.ended_by}")
    for run in summary.runs:
        table.add_row(f"run_{run}", f"run_{run}.py", f"run_{run}/final_info.json")
    Console().print(table)
    Console().print(f"figures: {', '.join(summary.figures)}; notes: {idea_dir / 'notes.txt'}")
