"""The stages of one idea as cached tasks: a re-run, or Retry in the UI, redoes only the failed stage and
those after it. Each stage's result feeds the next one's inputs, so a redone stage invalidates what follows.

They live with the flows because each one runs a stage's flow body (experiments, writeup, review) inside the
idea's flow run, so its tasks show under the stage in the UI.
"""

import json
import shutil
from pathlib import Path

from prefect import task
from prefect.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE

from aisci import idea_folder
from aisci.errors import WriteupFailed
from aisci.experiment.folder import ExperimentSummary
from aisci.files import write_atomic
from aisci.ideation import Idea
from aisci.literature import NoveltyOptions, NoveltyResult
from aisci.reproduce import ReproductionReport, reproduce
from aisci.review import Review, ReviewConfig
from aisci.review.improve import Improvement, as_feedback, improve
from aisci.settings import get_settings
from aisci.writeup import WriteupOptions, WriteupReport
from flows.experiment import experiments
from flows.remote import remote_experiment
from flows.review import review_paper
from flows.writeup import write_up
from tasks.ideation import check_novelty
from tasks.policy import TRANSIENT_RETRIES
from tasks.review import TaskReviewSteps

STAGE_CACHE = INPUTS + TASK_SOURCE


@task(name="prepare", cache_policy=NO_CACHE)
def prepare_idea(idea_dir: str) -> str:
    """Template code and baseline copied in; idempotent, so it runs every time."""
    settings = get_settings()
    return str(idea_folder.prepare(Path(idea_dir), settings.workspace, smoke=settings.smoke))


def novelty_stage(idea_dir: str, options: NoveltyOptions) -> NoveltyResult:
    """The verdict already in novelty.json (a sweep checks ideas before they run), or a new check."""
    saved = Path(idea_dir) / "novelty.json"
    if saved.is_file():
        return NoveltyResult.model_validate_json(saved.read_text())
    idea = Idea.model_validate(json.loads((Path(idea_dir) / "idea.json").read_text()))
    return check_novelty(get_settings(), idea, options)


@task(name="experiments", cache_policy=STAGE_CACHE, persist_result=True, **TRANSIENT_RETRIES)
def experiments_stage(
    idea_dir: str, max_runs: int, max_attempts: int, gpus: list[int] | None, budget_share: int = 1
) -> ExperimentSummary:
    """On the GPU work pool's experiment deployment when there is one, else as tasks of this flow run."""
    remote = remote_experiment(idea_dir, max_runs, max_attempts, gpus, budget_share)
    return remote or experiments(idea_dir, max_runs, max_attempts, gpus)


@task(name="reproduce", cache_policy=STAGE_CACHE, persist_result=True, **TRANSIENT_RETRIES)
def reproduce_stage(
    idea_dir: str, gpus: list[int] | None, experiments: ExperimentSummary
) -> ReproductionReport:
    """Every completed run re-run from its snapshot; reproduce.json, which the paper's appendix reports."""
    return reproduce(Path(idea_dir), get_settings(), gpus=gpus)


@task(name="writeup", cache_policy=STAGE_CACHE, persist_result=True, **TRANSIENT_RETRIES)
def writeup_stage(
    idea_dir: str,
    template_dir: str,
    options: WriteupOptions,
    offline: bool,
    experiments: ExperimentSummary,
    reproduction: ReproductionReport | None = None,
) -> WriteupReport:
    """The paper; `reproduction` is an input, so a new reproduction rewrites the appendix stating it."""
    return write_up(Path(idea_dir), Path(template_dir), options, offline)


@task(name="improve", cache_policy=STAGE_CACHE, persist_result=True, **TRANSIENT_RETRIES)
def improve_stage(
    idea_dir: str,
    template_dir: str,
    options: WriteupOptions,
    config: ReviewConfig,
    review: Review,
    offline: bool = False,
) -> Improvement:
    """One revision answering the review, reviewed again; the reviewed version is kept in improvement/.

    The revision and its review run the same loops, with the same tasks, as the writeup and review stages."""
    folder = Path(idea_dir)

    def revise(paper: Path, before: Review, out_dir: Path) -> Path:
        shutil.copy2(paper, out_dir / "paper-reviewed.pdf")
        report = write_up(folder, Path(template_dir), options, offline, feedback=as_feedback(before))
        if report.pdf is None:
            raise WriteupFailed(f"{folder.name}: the revision produced no PDF", hint="see build_report.json")
        return report.pdf

    steps = TaskReviewSteps(get_settings(), config, folder)
    result = improve(folder / "paper.pdf", steps, revise, folder / "improvement", before=review)
    write_atomic(folder / "improvement" / "improvement.json", result.model_dump_json(indent=2))
    return result


@task(name="review", cache_policy=STAGE_CACHE, persist_result=True, **TRANSIENT_RETRIES)
def review_stage(idea_dir: str, config: ReviewConfig, writeup: WriteupReport) -> Review:
    """review.json beside the paper."""
    if writeup.pdf is None:
        raise WriteupFailed(
            f"{Path(idea_dir).name}: the writeup produced no PDF", hint="see build_report.json"
        )
    return review_paper(Path(writeup.pdf), config, Path(idea_dir))
