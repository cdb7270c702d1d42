"""`aisci bench`: benchmarks of aisci's stages against data with known answers."""

from pathlib import Path
from typing import Annotated

import typer

from aisci.cli.options import Workspace, settings_for
from aisci.cli.review import Ensemble, Model, Reflections, with_review_model

app = typer.Typer(help="Benchmark aisci's stages.", no_args_is_help=True)


@app.command("review")
def review(
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help="Folder with ratings_subset.tsv and iclr_parsed/, or a CSV (paper_id, decision).",
            exists=True,
        ),
    ],
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="Review only the first N papers.")
    ] = None,
    model: Model = None,
    ensemble: Ensemble = 5,
    reflections: Reflections = 5,
    threshold: Annotated[
        float,
        typer.Option(
            "--threshold", min=1, max=10, help="The fixed threshold the calibration is compared with."
        ),
    ] = 6.0,
    holdout: Annotated[
        float,
        typer.Option(
            "--holdout", min=0.1, max=0.9, help="Share of the papers held out from the calibration."
        ),
    ] = 0.5,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-j", min=1, max=32, help="Papers at once.")
    ] = 1,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    workspace: Workspace = None,
) -> None:
    """Review papers with known decisions; report accuracy, balanced accuracy, F1, ROC-AUC, FPR and FNR with
    95% bootstrap intervals, and cost, time and repair rounds per review.

    The decision threshold is fitted on part of the papers and measured on the rest, next to the fixed
    threshold, and written to <workspace>/calibration/ (settings: calibration_dir), where reviews by the
    same model, ensemble and reflections find it. Reviews are cached per paper under
    <workspace>/bench/review/, so a stopped run resumes where it was. With a Prefect API configured
    (prefect.api_url), the table is also published as the artifact review-bench."""
    from rich.console import Console
    from rich.table import Table

    from aisci.review import ReviewConfig
    from aisci.review.bench import run_bench

    settings = with_review_model(settings_for(workspace), model)
    config = ReviewConfig(ensemble=ensemble, reflections=reflections, threshold=threshold)
    err = Console(stderr=True, highlight=False)

    def progress(result) -> None:
        if result.error:
            err.print(f"failed {result.paper_id}: {result.error}", style="red", markup=False)
        else:
            source = "cached" if result.cached else f"{result.elapsed_s:.1f} s"
            err.print(
                f"{result.paper_id}: Overall {result.overall:.2f} ({source}, {result.repairs} repair rounds)",
                markup=False,
            )

    report = run_bench(
        data,
        settings,
        config,
        limit=limit,
        concurrency=concurrency,
        on_result=progress,
        held_out_share=holdout,
    )
    if settings.prefect.api_url:
        from aisci import prefect_env

        prefect_env.apply(settings)
        from flows.review import publish_bench

        publish_bench(report)
        err.print(f"published as the artifact review-bench on {settings.prefect.api_url}", markup=False)
    if json_out:
        print(report.model_dump_json(indent=2))
        return
    console = Console(highlight=False)
    c = report.confusion
    console.print(
        f"{report.model}: {report.papers} papers ({report.failed} failed, {report.missing_files} listed "
        f"without a file); fixed threshold {report.threshold:g}: TP {c.tp} FP {c.fp} TN {c.tn} FN {c.fn}"
    )
    rows = report.table()
    table = Table(*rows[0])
    for row in rows:
        table.add_row(*row.values())
    console.print(table)
    if cal := report.calibration:
        console.print(
            f"calibrated threshold {cal.threshold:g}, fitted on {len(cal.fitted_on)} papers and measured on "
            f"{len(cal.held_out.papers)} others; written to {report.calibration_file}"
        )
    else:
        console.print(f"not calibrated: {report.calibration_note}")
    reviewed = [r for r in report.results if r.overall is not None]
    console.print(
        f"per review: ${report.cost_per_review_usd:.4f}, {report.seconds_per_review:.1f} s; repair rounds: "
        f"{report.repairs} in {sum(r.repairs > 0 for r in reviewed)} of {len(reviewed)} reviews; "
        f"this run took {report.wall_s:.1f} s"
    )
