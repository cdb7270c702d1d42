"""The ideation flow: generate and rank a sweep's ideas, then check each one's novelty in parallel."""

from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, unmapped
from prefect.artifacts import create_table_artifact

from aisci.ideation import GenerationOptions, ScoreWeights
from aisci.ideation.sweep import Sweep, decide_runs, save_sweep
from aisci.literature import NoveltyOptions
from aisci.settings import get_settings
from tasks.ideation import check_novelty, generate_ideas
from tasks.preflight import preflight_checks


def new_sweep_id(template: str, at: datetime | None = None) -> str:
    """Named by when it began: pass the flow run's creation time so a restarted run keeps its id."""
    return f"{(at or datetime.now(UTC)):%Y%m%d-%H%M%S}-{Path(template).name}"


@flow(name="ideation", log_prints=True)
def ideation_flow(
    template: str,
    num_ideas: int = 3,
    reflections: int = 3,
    novelty: NoveltyOptions | None = None,
    run_unknown: bool = True,
    weights: ScoreWeights | None = None,
    sweep_id: str | None = None,
) -> Sweep:
    """Ideas for `template`, ranked by weighted score, each with a novelty verdict and whether it runs.

    `run_unknown` decides whether ideas whose novelty could not be checked still go to experiments."""
    settings = get_settings()
    preflight_checks(settings, "ideas")
    sweep_id = sweep_id or new_sweep_id(template)
    options = GenerationOptions(
        num_ideas=num_ideas, reflections=reflections, weights=weights or ScoreWeights()
    )
    generated = generate_ideas(settings, template, sweep_id, options)
    futures = check_novelty.map(unmapped(settings), generated.ideas, unmapped(novelty or NoveltyOptions()))
    verdicts = futures.result()
    sweep = Sweep(
        sweep_id=sweep_id,
        template=Path(template).name,
        ideas=decide_runs(generated.ideas, verdicts, run_unknown),
        rejected=generated.rejected,
    )
    save_sweep(settings.workspace, sweep)
    create_table_artifact(
        key="ideas",
        table=sweep.table(),
        description=f"Ideas of sweep {sweep_id}, best score first, with novelty verdicts.",
    )
    running = sum(s.run for s in sweep.ideas)
    print(f"sweep {sweep_id}: {running} of {len(sweep.ideas)} ideas go on to experiments")
    return sweep
