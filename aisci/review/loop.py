"""The review of one paper, the one loop every caller runs: read the paper, review it E times, let the area
chair write the meta-review, combine, and write review.json.

Each step is a method of ReviewSteps, which runs it here through one Reviewer; the flow layer's subclass
(tasks.review.TaskReviewSteps) runs each as a Prefect task instead, with the ensemble members in parallel.
"""

import time
from functools import cached_property
from pathlib import Path

from aisci.errors import LLMResponseError
from aisci.files import write_atomic
from aisci.llm import Gateway
from aisci.llm.transcript import TRANSCRIPT, Transcript
from aisci.review.calibration import decision_threshold
from aisci.review.form import MemberReview, MetaReview, PaperInfo, Review
from aisci.review.paper import read_paper
from aisci.review.reviewer import ReviewConfig, Reviewer, combine, rejection
from aisci.settings import Settings

REVIEW = "review.json"

Messages = list[dict[str, str]]


class ReviewSteps:
    """The loop's steps for one run folder (transcript.jsonl and review.json), run in this process."""

    def __init__(self, settings: Settings, config: ReviewConfig, run_dir: Path) -> None:
        self.settings, self.config, self.run_dir = settings, config, run_dir

    @cached_property
    def reviewer(self) -> Reviewer:
        return Reviewer(Gateway(self.settings, run_dir=self.run_dir), self.config)

    def read(self, paper: Path) -> tuple[Messages, PaperInfo]:
        """The review prompt with the paper cut to the model's context."""
        return self.reviewer.prepare(read_paper(paper))

    def members(self, messages: Messages) -> list[MemberReview | LLMResponseError]:
        """Each member's review after its reflection rounds, or the error that rejected it, in index order."""
        outcomes: list[MemberReview | LLMResponseError] = []
        for index in range(self.config.ensemble):
            try:
                outcomes.append(self.reviewer.member(messages, index))
            except LLMResponseError as exc:
                outcomes.append(exc)
        return outcomes

    def meta_review(self, members: list[MemberReview]) -> MetaReview:
        """The area chair's form; none when there is one member or its reply is invalid."""
        return self.reviewer.meta_review(members)


def review_paper(paper: Path, steps: ReviewSteps) -> Review:
    """The whole review of `paper`, written to `<run_dir>/review.json`.

    Its cost is what the run's transcript gained meanwhile: rejected replies included, members an earlier
    flow run left in Prefect's cache not. It decides with the threshold decision_threshold finds (given,
    calibrated for this model and set-up, or 6), and says which."""
    threshold = decision_threshold(steps.settings, steps.config)
    transcript = Transcript(steps.run_dir / TRANSCRIPT, [])
    started, spent = time.monotonic(), transcript.spent_usd()
    messages, info = steps.read(paper)
    members, rejected = [], []
    for index, outcome in enumerate(steps.members(messages)):
        if isinstance(outcome, MemberReview):
            members.append(outcome)
        else:
            rejected.append(rejection(f"review {index}", outcome))
    meta = steps.meta_review(members) if members else MetaReview()
    review = combine(info, members, meta, rejected, threshold, steps.settings.model_for("review"))
    review = review.model_copy(
        update={"cost_usd": transcript.spent_usd() - spent, "elapsed_s": time.monotonic() - started}
    )
    write_atomic(steps.run_dir / REVIEW, review.model_dump_json(indent=2))
    return review
