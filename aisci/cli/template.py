"""`aisci template`: list research templates, check one against the contract, run its baseline."""

from pathlib import Path
from typing import Annotated

import typer

from aisci.cli.options import Workspace, gpu_ids, settings_for

app = typer.Typer(
    help="Research templates: list, check the contract, run the baseline.", no_args_is_help=True
)

Template = Annotated[
    str, typer.Argument(help="Template name (see `aisci template list`) or folder.", show_default=False)
]


@app.command("list")
def list_templates(workspace: Workspace = None) -> None:
    """Show each template: description, datasets, contract problems and whether a baseline exists."""
    from rich.console import Console
    from rich.table import Table

    from aisci.template_baseline import baseline_status, find_baseline
    from aisci.templates import available, check, datasets, description

    ws = settings_for(workspace).workspace
    table = Table("name", "description", "datasets", "baseline", "contract")
    for name, folder in available().items():
        run_0 = find_baseline(folder, ws) or find_baseline(folder, ws, smoke=True)
        groups = _groups(run_0 / "final_info.json") if run_0 else None
        problems = check(folder)
        contract = "[green]ok[/]" if not problems else f"[red]{len(problems)} problem(s)[/]"
        table.add_row(
            name,
            description(folder),
            ", ".join(datasets(folder, groups)),
            baseline_status(folder, ws),
            contract,
        )
    Console().print(table)


def _groups(path: Path) -> dict | None:
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@app.command("check")
def check_template(template: Template) -> None:
    """Validate a template folder (community AI Scientist v1 templates included); exits 1 on any problem."""
    from aisci.templates import check, resolve

    folder = resolve(template)
    problems = check(folder)
    for problem in problems:
        print(f"{folder.name}/{problem}")
    if problems:
        raise typer.Exit(1)
    print(f"{folder.name}: ok")


@app.command("baseline")
def baseline(
    template: Template,
    workspace: Workspace = None,
    smoke: Annotated[
        bool, typer.Option("--smoke", help="Set AISCI_SMOKE=1: a quick CPU check, marked as smoke.")
    ] = False,
    backend: Annotated[
        str | None, typer.Option(help="Sandbox backend: docker or local (default: settings).")
    ] = None,
    gpus: Annotated[str | None, typer.Option(help="GPU ids for the run, comma-separated, e.g. 0,1.")] = None,
    threads: Annotated[
        int | None,
        typer.Option(help="CPU threads for the experiment (OMP_NUM_THREADS); default: one per core."),
    ] = None,
    timeout_s: Annotated[
        float, typer.Option("--timeout-s", help="Wall-clock limit of the experiment.")
    ] = 14_400,
    force: Annotated[
        bool, typer.Option("--force", help="Run again even if a baseline exists (the old one is kept).")
    ] = False,
) -> None:
    """Run the template's run_0 in the sandbox, then plot.py; records time and hardware in baseline.json."""
    import warnings

    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from aisci.sandbox.local import LocalBackendWarning
    from aisci.template_baseline import run_baseline

    settings = settings_for(workspace)
    backend = backend or settings.sandbox_backend
    console = Console()
    if backend == "local":
        console.print(
            "[yellow]warn[/] local sandbox backend: the template code runs on this host, unisolated"
        )
    with (
        warnings.catch_warnings(),
        Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
        ) as progress,
    ):
        warnings.simplefilter("ignore", LocalBackendWarning)  # said once above, not per sandboxed step
        tasks: dict[str, int] = {}

        def on_stage(stage: str) -> None:
            for task_id in tasks.values():
                progress.update(task_id, completed=1, total=1)
            label = "experiment.py --out_dir=run_0" if stage == "experiment" else "plot.py"
            tasks[stage] = progress.add_task(f"{label} ({'smoke' if smoke else 'full'})", total=None)

        record = run_baseline(
            template,
            settings.workspace,
            smoke=smoke,
            backend=backend,
            timeout_s=timeout_s,
            gpus=gpu_ids(gpus),
            threads=threads,
            force=force,
            on_stage=on_stage,
        )
        for task_id in tasks.values():
            progress.update(task_id, completed=1, total=1)

    console.print(
        f"baseline of [bold]{record.template}[/] done in {record.total_s:.1f} s "
        f"(experiment {record.experiment_s:.1f} s, plot {record.plot_s:.1f} s) on {record.hardware.cpu}"
        + (f", GPUs: {', '.join(record.hardware.gpus)}" if record.hardware.gpus else ""),
        highlight=False,
    )
    for group, means in record.means.items():
        console.print(f"  {group}: " + ", ".join(f"{k}={v:.4g}" for k, v in means.items()), highlight=False)
    console.print(f"  figures: {', '.join(record.figures)}", highlight=False)
