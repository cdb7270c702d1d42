"""One idea as a DAG: novelty → experiments (with plots) → reproduce (an option) → writeup → review.

Every stage is a cached task whose result persists in the workspace and feeds the next stage: running the idea
again, or pressing Retry on a failed run in the UI, redoes only the failed stage and what follows it.
"""

import json
from functools import partial
from pathlib import Path

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from aisci.errors import ExperimentFailed
from aisci.experiment.folder import ExperimentSummary
from aisci.ideation import Archive, Idea
from aisci.ideation.archive import record_outcome
from aisci.llm.transcript import Transcript
from aisci.pipeline import IdeaOptions, IdeaResult
from aisci.review import Review
from aisci.settings import get_settings
from flows.display import file_link, image, run_name
from flows.stages import (
    experiments_stage,
    improve_stage,
    novelty_stage,
    prepare_idea,
    reproduce_stage,
    review_stage,
    writeup_stage,
)
from tasks.preflight import preflight_checks

DEFAULTS = IdeaOptions()  # a model, not None, so the Run form opens with every field and its default


@flow(name="idea", flow_run_name=partial(run_name, "idea"), log_prints=True)
def idea_flow(idea_dir: str, options: IdeaOptions = DEFAULTS) -> IdeaResult:
    folder = Path(idea_dir).resolve()
    idea = Idea.model_validate(json.loads((folder / "idea.json").read_text()))
    preflight_checks(get_settings(), "idea")
    workspace = get_settings().workspace
    Archive(workspace, idea.template).add(idea)  # an idea written by hand joins the archive too
    template_dir = prepare_idea(str(folder))
    novelty = novelty_stage(str(folder), options.novelty)
    if novelty.verdict == "not_novel" or (novelty.verdict == "unknown" and not options.run_unknown):
        print(f"{idea.name}: skipped ({novelty.verdict})")
        return IdeaResult(idea=idea.name, idea_dir=str(folder), status="skipped", verdict=novelty.verdict)
    try:
        experiments = experiments_stage(
            str(folder), options.max_runs, options.max_attempts, options.gpus, options.budget_share
        )
    except ExperimentFailed:
        record_outcome(workspace, idea, experiment="failed")
        raise
    record_outcome(workspace, idea, experiment="ok")
    reproduction = reproduce_stage(str(folder), options.gpus, experiments) if options.reproduce else None
    report = writeup_stage(
        str(folder), template_dir, options.writeup, novelty.unreachable, experiments, reproduction
    )
    review = review_stage(str(folder), options.review, report)
    if options.improve:
        improvement = improve_stage(
            str(folder), template_dir, options.writeup, options.review, review, novelty.unreachable
        )
        print(f"{idea.name}: revision moved Overall by {improvement.overall_change:+.1f}")
        review = improvement.after
    weakness = review.form.weaknesses[0] if review.form.weaknesses else None
    record_outcome(
        workspace, idea, review_overall=review.overall, review_decision=review.decision, review_note=weakness
    )
    result = IdeaResult(
        idea=idea.name,
        idea_dir=str(folder),
        status="done",
        verdict=novelty.verdict,
        runs=experiments.runs,
        pdf=str(report.pdf) if report.pdf else None,
        paper_problems=report.problems,
        paper_warnings=len(report.warnings),
        overall=review.overall,
        decision=review.decision,
        cost_usd=Transcript(folder / "transcript.jsonl", []).spent_usd(),
        reproduction_rate=reproduction.rate if reproduction else None,
    )
    create_markdown_artifact(
        markdown=outcome_markdown(idea, result, experiments, review),
        description=f"Outcome of idea {idea.name}",
    )
    return result


def outcome_markdown(idea: Idea, result: IdeaResult, experiments: ExperimentSummary, review: Review) -> str:
    """What a reader of the run wants first: the paper, the review's verdict and why, and the figures."""
    folder = Path(result.idea_dir)
    paper = file_link(result.pdf, "paper.pdf") if result.pdf else "no PDF"
    lines = [
        f"## {idea.title}",
        f"Overall **{review.overall:.1f}**, **{review.decision}**; runs {result.runs}; {paper}; "
        f"${result.cost_usd:.4f}",
    ]
    if result.paper_problems:
        lines.append(f"Paper not ready: {'; '.join(result.paper_problems)}")
    lines += ["### Review", review.form.summary]
    for heading, points in (("Strengths", review.form.strengths), ("Weaknesses", review.form.weaknesses)):
        lines += [f"**{heading}**", *(f"- {p}" for p in points[:3])]
    lines.append("### Figures")
    lines += [image(folder / "figures" / name, name) for name in experiments.figures] or ["none"]
    return "\n\n".join(lines)
