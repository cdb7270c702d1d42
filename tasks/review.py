"""Review tasks: reading the paper, one task per ensemble member, the area chair's meta-review; and the
review loop's steps run as these tasks.

Members are cached on their inputs and this source, so retrying a flow run re-asks only the members that
failed. Model outages are retried (tasks.policy); an invalid reply, a spent budget or a bad key are not.
"""

from pathlib import Path

from prefect import task
from prefect.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE

from aisci.errors import LLMResponseError
from aisci.llm import Gateway
from aisci.review import MemberReview, MetaReview, PaperInfo, ReviewConfig, Reviewer, read_paper
from aisci.review.loop import Messages, ReviewSteps
from aisci.settings import Settings
from tasks.policy import TRANSIENT_RETRIES


def _reviewer(settings: Settings, config: ReviewConfig, run_dir: str) -> Reviewer:
    return Reviewer(Gateway(settings, run_dir=Path(run_dir)), config)


@task(name="read-paper", cache_policy=NO_CACHE, persist_result=False)
def prepare_review(
    paper: str, settings: Settings, config: ReviewConfig, run_dir: str
) -> tuple[Messages, PaperInfo]:
    """The review prompt with the paper cut to the model's context."""
    return _reviewer(settings, config, run_dir).prepare(read_paper(Path(paper)))


@task(
    name="review-member",
    task_run_name="reviewer-{index}",
    cache_policy=INPUTS + TASK_SOURCE,
    **TRANSIENT_RETRIES,
)
def review_member(
    messages: Messages, index: int, settings: Settings, config: ReviewConfig, run_dir: str
) -> MemberReview:
    """One independent review and its reflection rounds."""
    return _reviewer(settings, config, run_dir).member(messages, index)


@task(name="meta-review", cache_policy=INPUTS + TASK_SOURCE, **TRANSIENT_RETRIES)
def meta_review(
    members: list[MemberReview], settings: Settings, config: ReviewConfig, run_dir: str
) -> MetaReview:
    """The area chair's form (none when there is one member or its reply is invalid)."""
    return _reviewer(settings, config, run_dir).meta_review(members)


class TaskReviewSteps(ReviewSteps):
    """The review loop's steps as tasks of the calling flow run, the ensemble members submitted at once."""

    def read(self, paper: Path) -> tuple[Messages, PaperInfo]:
        return prepare_review(str(paper), self.settings, self.config, str(self.run_dir))

    def members(self, messages: Messages) -> list[MemberReview | LLMResponseError]:
        """A member whose reply stayed invalid is rejected; any other failure fails the review."""
        futures = [
            review_member.submit(messages, index, self.settings, self.config, str(self.run_dir))
            for index in range(self.config.ensemble)
        ]
        outcomes = [future.result(raise_on_failure=False) for future in futures]
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, LLMResponseError):
                raise outcome
        return outcomes

    def meta_review(self, members: list[MemberReview]) -> MetaReview:
        return meta_review(members, self.settings, self.config, str(self.run_dir))
