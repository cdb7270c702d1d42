"""One improvement round: the review goes back to the writeup stage, and the revised paper is reviewed again.

The writeup stage is any callable taking (paper, review, out_dir) and returning the revised PDF; the paper
pipeline passes its own. One round only: more rounds teach the paper to please the reviewer model.
"""

from pathlib import Path
from typing import Protocol

from pydantic import BaseModel

from aisci.errors import ConfigError
from aisci.review.form import Review
from aisci.review.paper import read_paper
from aisci.review.reviewer import Reviewer


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


def improve(paper: Path, reviewer: Reviewer, writeup: Writeup, out_dir: Path) -> Improvement:
    """Review, revise once with the review as feedback, review the revision."""
    before = reviewer.review(read_paper(paper))
    out_dir.mkdir(parents=True, exist_ok=True)
    revised = writeup(paper, before, out_dir)
    if not Path(revised).is_file():
        raise ConfigError(f"the writeup stage returned {revised}, which is not a file")
    after = reviewer.review(read_paper(Path(revised)))
    return Improvement(before=before, after=after, revised_paper=str(revised))
