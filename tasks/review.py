"""Review tasks: reading the paper, one task per ensemble member, the area chair's meta-review.

Members are cached on their inputs and this source, so retrying a flow run re-asks only the members that
failed. Model outages are retried (tasks.policy); an invalid reply, a spent budget or a bad key are not.
"""

from pathlib import Path

from prefect import task
from prefect.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE

from aisci.llm import Gateway
from aisci.review import MemberReview, PaperInfo, Rejected, ReviewConfig, Reviewer, ReviewForm, read_paper
from aisci.settings import Settings
from tasks.policy import TRANSIENT_RETRIES


def _reviewer(settings: Settings, config: ReviewConfig, run_dir: str) -> Reviewer:
    return Reviewer(Gateway(settings, run_dir=Path(run_dir)), config)


@task(name="read-paper", cache_policy=NO_CACHE, persist_result=False)
def prepare_review(
    paper: str, settings: Settings, config: ReviewConfig, run_dir: str
) -> tuple[list[dict[str, str]], PaperInfo]:
    """The review prompt with the paper cut to the model's context."""
    return _reviewer(settings, config, run_dir).prepare(read_paper(Path(paper)))


@task(
    name="review-member",
    task_run_name="reviewer-{index}",
    cache_policy=INPUTS + TASK_SOURCE,
    **TRANSIENT_RETRIES,
)
def review_member(
    messages: list[dict[str, str]], index: int, settings: Settings, config: ReviewConfig, run_dir: str
) -> MemberReview:
    """One independent review and its reflection rounds."""
    return _reviewer(settings, config, run_dir).member(messages, index)


@task(name="meta-review", cache_policy=INPUTS + TASK_SOURCE, **TRANSIENT_RETRIES)
def meta_review(
    members: list[MemberReview], settings: Settings, config: ReviewConfig, run_dir: str
) -> tuple[ReviewForm | None, list[Rejected], float]:
    """The area chair's form (None when there is one member or its reply is invalid), and its cost."""
    reviewer = _reviewer(settings, config, run_dir)
    spent = reviewer.gateway.spent_usd
    form, rejected = reviewer.meta_review(members)
    return form, rejected, reviewer.gateway.spent_usd - spent
