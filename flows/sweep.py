"""A sweep: a template's ideas, their novelty, then the best K ideas in parallel, each as its own idea flow.

One failing idea never stops the others. The ideas spend from one budget ledger in the sweep folder, so
together they never pass the sweep's budget: once it is spent, calls stop, ideas not yet started stay so, and
everything made is kept for a run with a higher budget to resume.
"""

from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, update_progress_artifact
from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency
from prefect.context import FlowRunContext
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from aisci.errors import BudgetExceeded
from aisci.ideation.sweep import Sweep
from aisci.llm.ledger import Ledger
from aisci.llm.transcript import spent_under
from aisci.pipeline import MAX_PARALLEL, IdeaOptions, IdeaOutcome, SweepOptions, SweepSummary
from aisci.settings import get_settings
from flows.display import cell, file_link, file_url, idea_label
from flows.idea import idea_flow
from flows.ideation import ideation_flow, new_sweep_id
from tasks.preflight import preflight_checks

LEASE_S = 60  # a slot held by a dead sweep frees within a minute (the least Prefect allows), not five


DEFAULTS = SweepOptions()  # a model, not None, so the Run form opens with every field and its default


def _task_name(parameters: dict) -> str:
    return f"idea-{idea_label(parameters['idea_dir'])}"


@task(name="idea", task_run_name=_task_name)
def run_idea(idea_dir: str, options: IdeaOptions, sweep_dir: str, slots: str) -> IdeaOutcome:
    """One idea's flow, once a slot is free; its failure becomes this outcome's status, never the sweep's."""
    name = Path(idea_dir).name
    with concurrency(slots, occupy=1, strict=True, lease_duration=LEASE_S):
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


def _sweep_name() -> str:
    from prefect.runtime import flow_run

    return f"sweep-{Path(flow_run.parameters['template']).name}"


@flow(
    name="sweep",
    flow_run_name=_sweep_name,
    log_prints=True,
    task_runner=ThreadPoolTaskRunner(max_workers=MAX_PARALLEL),
)
def sweep_flow(template: str, options: SweepOptions = DEFAULTS, sweep_id: str | None = None) -> SweepSummary:
    """A restarted run (after a crash) keeps its sweep id, so finished ideas come from the cache and running
    ones resume from their folders."""
    settings = get_settings()
    preflight_checks(settings)
    context = FlowRunContext.get()
    sweep_id = sweep_id or new_sweep_id(template, at=context.flow_run.created if context else None)
    sweep = ideation_flow(
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
    at_once = max(1, min(options.parallel, len(chosen)))
    idea_options = options.idea.model_copy(update={"budget_share": at_once})
    futures = [run_idea.submit(str(sweep_dir / name), idea_options, str(sweep_dir), slots) for name in chosen]
    outcomes: dict[str, IdeaOutcome] = {}
    summarize(sweep, chosen, outcomes, 0.0)
    for future in as_completed(futures):
        outcome = future.result()
        outcomes[outcome.idea] = outcome
        update_progress_artifact(progress, 100.0 * len(outcomes) / len(chosen))
        summarize(sweep, chosen, outcomes, spent_under(sweep_dir))
    ended = [outcomes[name] for name in chosen]
    return SweepSummary(
        sweep_id=sweep_id,
        template=sweep.template,
        outcomes=ended,
        cost_usd=spent_under(sweep_dir),
        reproduction_rate=mean_rate(ended),
    )


def summarize(sweep: Sweep, chosen: list[str], outcomes: dict[str, IdeaOutcome], cost_usd: float) -> None:
    """The sweep's table, a new version each time an idea ends: progress a person can read. The table keeps
    to short cells so it fits the UI's width; what takes a sentence is listed under it."""
    header = ["idea", "status", "novelty", "runs", "Overall", "decision", "paper", "reproduced", "cost (USD)"]
    rows = [header, ["---"] * len(header)]
    notes = []
    for entry in sweep.ideas:
        name = entry.idea.name
        outcome = outcomes.get(name)
        result = outcome.result if outcome else None
        status = outcome.status if outcome else ("running" if name in chosen else "not chosen")
        rows.append(
            [
                name,
                status,
                entry.novelty.verdict,
                ", ".join(map(str, result.runs)) if result else "",
                f"{result.overall:.1f}" if result and result.overall is not None else "",
                (result.decision or "") if result else "",
                _paper_cell(result.pdf) if result and result.pdf else "",
                _percent(result.reproduction_rate) if result else "",
                f"{result.cost_usd:.4f}" if result else "",
            ]
        )
        notes += [f"- **{cell(name)}**: {cell(line)}" for line in _idea_notes(outcome)]
    table = "\n".join("| " + " | ".join(cell(c) for c in row) + " |" for row in rows)
    done = sum(1 for name in chosen if name in outcomes)
    create_markdown_artifact(
        key="sweep-summary",
        markdown=f"## Sweep {sweep.sweep_id} of {sweep.template}\n\n{done} of {len(chosen)} chosen ideas "
        f"finished; ${cost_usd:.4f} spent"
        + (f"; reproduction rate {_percent(rate)}" if (rate := mean_rate(list(outcomes.values()))) else "")
        + f".\n\n{table}"
        + ("\n\n" + "\n".join(notes) if notes else ""),
        description=f"Sweep {sweep.sweep_id}: every idea, its review and paper",
    )


def _paper_cell(pdf: str) -> str:
    """A link where the workspace is served; else a word, with the path listed under the table."""
    return file_link(pdf, "PDF") if file_url(pdf) else "below"


def _idea_notes(outcome: IdeaOutcome | None) -> list[str]:
    """What the table cannot say in a word: why an idea stopped, and what is still wrong with its paper."""
    if outcome is None:
        return []
    result = outcome.result
    lines = [outcome.detail] if outcome.detail else []
    if result and result.pdf and not file_url(result.pdf):
        lines.append(f"paper: `{result.pdf}`")
    if result and result.paper_problems:
        lines.append("paper not ready: " + "; ".join(result.paper_problems))
    if result and result.paper_warnings:
        lines.append(f"{result.paper_warnings} paper warning(s), listed in build_report.json")
    return lines


def mean_rate(outcomes: list[IdeaOutcome]) -> float | None:
    """The mean reproduction rate of the ideas that were reproduced."""
    rates = [r for o in outcomes if o.result and (r := o.result.reproduction_rate) is not None]
    return sum(rates) / len(rates) if rates else None


def _percent(rate: float | None) -> str:
    return f"{100 * rate:.0f}%" if rate is not None else ""
