"""One improvement round: the review goes back to the writeup stage, and the revised paper is reviewed again.

The writeup stage is any callable taking (paper, review, out_dir) and returning the revised PDF; the paper
pipeline passes its own. One round only: more rounds teach the paper to please the reviewer model.
"""

from pathlib import Path
from typing import Protocol

from pydantic import BaseModel

from aisci.errors import ConfigError
from aisci.review.form import Review
from aisci.review.loop import ReviewSteps, review_paper


class Writeup(Protocol):
    def __call__(self, paper: Path, review: Review, out_dir: Path) -> Path:
        """Revise `paper` to answer `review`; write the new PDF under `out_dir` and return its path."""
        ...


class Improvement(BaseModel):
    before: Review
    after: Review
    revised_paper: str

    @property
    def overall_change(self) -> float:
        return self.after.overall - self.before.overall


def as_feedback(review: Review) -> str:
    """The review as the writer should read it: the points to answer, not the scores."""
    form = review.form
    points = [
        ("Weaknesses", form.weaknesses),
        ("Questions", form.questions),
        ("Limitations", form.limitations),
    ]
    lines = [f"Summary: {form.summary}", f"Decision: {review.decision} (mean Overall {review.overall:.1f})"]
    for title, items in points:
        lines += [f"{title}:"] + [f"- {item}" for item in items]
    return "\n".join(lines)


def improve(
    paper: Path, steps: ReviewSteps, writeup: Writeup, out_dir: Path, before: Review | None = None
) -> Improvement:
    """Review (unless `before` is given), revise once with the review as feedback, review the revision.

    The revision's review replaces review.json in the steps' run folder; the first one stays in the
    returned Improvement."""
    before = before or review_paper(paper, steps)
    out_dir.mkdir(parents=True, exist_ok=True)
    revised = writeup(paper, before, out_dir)
    if not Path(revised).is_file():
        raise ConfigError(f"the writeup stage returned {revised}, which is not a file")
    after = review_paper(Path(revised), steps)
    return Improvement(before=before, after=after, revised_paper=str(revised))
