"""A sweep: a template's ideas, their novelty, then the best K ideas in parallel, each as its own idea flow.

One failing idea never stops the others. The ideas spend from one budget ledger in the sweep folder, so
together they never pass the sweep's budget: once it is spent, calls stop, ideas not yet started stay so, and
everything made is kept for a run with a higher budget to resume.
"""

from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact
from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel, Field

from aisci.errors import BudgetExceeded
from aisci.ideas import ScoreWeights
from aisci.llm.ledger import Ledger
from aisci.llm.transcript import spent_under
from aisci.settings import get_settings
from flows.idea import IdeaOptions, IdeaResult, idea_flow
from flows.ideas import ideas_flow, new_sweep_id
from tasks.ideas import NoveltyOptions
from tasks.preflight import preflight_checks

MAX_PARALLEL = 16


class SweepOptions(BaseModel):
    num_ideas: int = Field(3, ge=1, le=50, description="ideas to generate")
    reflections: int = Field(3, ge=0, le=10, description="reflection rounds per idea")
    top_k: int = Field(2, ge=1, description="best-ranked runnable ideas that go on to experiments")
    parallel: int = Field(2, ge=1, le=MAX_PARALLEL, description="ideas running at the same time")
    weights: ScoreWeights = ScoreWeights()
    novelty: NoveltyOptions = NoveltyOptions()
    idea: IdeaOptions = IdeaOptions()


class IdeaOutcome(BaseModel):
    idea: str
    status: str
    detail: str = ""
    result: IdeaResult | None = None


class SweepSummary(BaseModel):
    sweep_id: str
    template: str
    outcomes: list[IdeaOutcome]
    cost_usd: float
    reproduction_rate: float | None = None  # the mean of the reproduced ideas' rates


@task(name="idea", task_run_name="idea-{idea_dir}")
def run_idea(idea_dir: str, options: IdeaOptions, sweep_dir: str, slots: str) -> IdeaOutcome:
    """One idea's flow, once a slot is free; its failure becomes this outcome's status, never the sweep's."""
    name = Path(idea_dir).name
    with concurrency(slots, occupy=1, strict=True):
        budget = get_settings().budget_usd
        if budget and Ledger(Path(sweep_dir)).state().spent_usd >= budget:
            detail = f"the sweep spent its ${budget:.2f} budget"
            return IdeaOutcome(idea=name, status="not started", detail=detail)
        state = idea_flow(idea_dir, options, return_state=True)
    result = state.result(raise_on_failure=False)
    if isinstance(result, BudgetExceeded):
        return IdeaOutcome(idea=name, status="stopped", detail=f"{result.message} ({result.hint})"[:500])
    if isinstance(result, BaseException):
        return IdeaOutcome(idea=name, status="failed", detail=f"{type(result).__name__}: {result}"[:500])
    return IdeaOutcome(idea=name, status=result.status, result=result)


@flow(name="sweep", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=MAX_PARALLEL))
def sweep_flow(
    template: str, options: SweepOptions | None = None, sweep_id: str | None = None
) -> SweepSummary:
    options = options or SweepOptions()
    settings = get_settings()
    preflight_checks(settings)
    sweep_id = sweep_id or new_sweep_id(template)
    sweep = ideas_flow(
        template,
        num_ideas=options.num_ideas,
        reflections=options.reflections,
        novelty=options.novelty,
        run_unknown=options.idea.run_unknown,
        weights=options.weights,
        sweep_id=sweep_id,
    )
    sweep_dir = settings.workspace / sweep_id
    chosen = [s.idea.name for s in sweep.ideas if s.run][: options.top_k]
    print(f"sweep {sweep_id}: running {len(chosen)} idea(s): {', '.join(chosen) or 'none'}")
    progress = create_progress_artifact(0.0, description=f"Ideas of sweep {sweep_id} finished")
    slots = f"sweep-{sweep_id}"
    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(slots, limit=options.parallel)
    futures = [run_idea.submit(str(sweep_dir / name), options.idea, str(sweep_dir), slots) for name in chosen]
    outcomes: list[IdeaOutcome] = []
    for future in as_completed(futures):
        outcomes.append(future.result())
        update_progress_artifact(progress, 100.0 * len(outcomes) / len(chosen))
    rates = [r for o in outcomes if o.result and (r := o.result.reproduction_rate) is not None]
    summary = SweepSummary(
        sweep_id=sweep_id,
        template=sweep.template,
        outcomes=outcomes,
        cost_usd=spent_under(sweep_dir),
        reproduction_rate=sum(rates) / len(rates) if rates else None,
    )
    create_table_artifact(
        key="sweep-summary",
        table=[
            {
                "idea": o.idea,
                "status": o.status,
                "runs": ", ".join(map(str, o.result.runs)) if o.result else "",
                "paper": (o.result.pdf or "") if o.result else "",
                "paper problems": "; ".join(o.result.paper_problems) if o.result else "",
                "paper warnings": o.result.paper_warnings if o.result else 0,
                "cost_usd": round(o.result.cost_usd, 4) if o.result else 0.0,
                "reproduced": _percent(o.result.reproduction_rate if o.result else None),
                "detail": o.detail,
            }
            for o in outcomes
        ]
        or [{"idea": "(none ran)"}],
        description=f"Sweep {sweep_id} of {template}: ${summary.cost_usd:.4f} in all"
        + (f"; reproduction rate {_percent(summary.reproduction_rate)}." if rates else "."),
    )
    return summary


def _percent(rate: float | None) -> str:
    return f"{100 * rate:.0f}%" if rate is not None else ""


if __name__ == "__main__":
    import sys

    sweep_flow(sys.argv[1])
