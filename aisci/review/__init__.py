"""The automated reviewer: a review form, an ensemble with reflection and a meta-review, and its benchmark."""

from aisci.review.form import MemberReview, MetaReview, PaperInfo, Rejected, Review, ReviewForm, Threshold
from aisci.review.loop import ReviewSteps, review_paper
from aisci.review.paper import Paper, read_paper
from aisci.review.reviewer import Example, ReviewConfig, Reviewer, combine, load_examples

__all__ = [
    "Example",
    "MemberReview",
    "MetaReview",
    "Paper",
    "PaperInfo",
    "Rejected",
    "Review",
    "ReviewConfig",
    "ReviewForm",
    "ReviewSteps",
    "Threshold",
    "Reviewer",
    "combine",
    "load_examples",
    "read_paper",
    "review_paper",
]
