"""The review form and the records a review produces: the schema the model fills in, validated ranges."""

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

Decision = Literal["Accept", "Reject"]
Point = Annotated[str, StringConstraints(max_length=400)]
Points = Annotated[list[Point], Field(max_length=6)]
Sub = Annotated[int, Field(ge=1, le=4, description="1 poor, 2 fair, 3 good, 4 excellent")]

# The numeric fields averaged over the ensemble.
SCORES = (
    "originality",
    "quality",
    "clarity",
    "significance",
    "soundness",
    "presentation",
    "contribution",
    "overall",
    "confidence",
)


class ReviewForm(BaseModel):
    """One reviewer's form, in the order a reviewer fills it in (NeurIPS-style scales)."""

    summary: str = Field(max_length=1000, description="what the paper claims and how it supports the claims")
    strengths: Points
    weaknesses: Points
    questions: Points = Field(description="questions for the authors whose answers could change the scores")
    limitations: Points = Field(description="limitations and possible negative societal impact")
    ethical_concerns: bool
    originality: Sub
    quality: Sub
    clarity: Sub
    significance: Sub
    soundness: Sub
    presentation: Sub
    contribution: Sub
    overall: int = Field(
        ge=1,
        le=10,
        description="1 trivial or wrong, 3 reject, 5 borderline reject, 6 borderline accept, "
        "8 strong accept, 10 award quality",
    )
    confidence: int = Field(ge=1, le=5, description="1 educated guess ... 5 certain, checked the details")
    decision: Decision


class Reflection(BaseModel):
    """A reviewer's second look at its own review: the revised form, and whether it is finished."""

    thought: str = Field(max_length=400, description="what is wrong or missing in the previous review")
    review: ReviewForm
    done: bool = Field(description="true when the review needs no further change")


class Rejected(BaseModel):
    """A reply that stayed invalid after the repair round, kept verbatim."""

    step: str
    error: str
    raw: str


class MemberReview(BaseModel):
    """One ensemble member after its reflection rounds."""

    index: int
    form: ReviewForm
    reflections: int = Field(description="reflection rounds run (fewer than asked when the model was done)")
    stopped_early: bool = False
    rejected: list[Rejected] = []
    cost_usd: float = 0.0


class PaperInfo(BaseModel):
    """What part of the paper the model saw."""

    source: str
    pages_total: int
    pages_used: int
    chars_total: int
    chars_used: int
    truncated: bool
    note: str = ""


class Review(BaseModel):
    """The result of reviewing one paper: ensemble-mean scores, the decision, and everything behind them."""

    paper: PaperInfo
    model: str
    form: ReviewForm = Field(description="the area chair's meta-review (or the single review when E = 1)")
    scores: dict[str, float] = Field(description="ensemble means of every numeric field")
    overall: float
    threshold: float
    decision: Decision = Field(description="Accept when the mean Overall reaches the threshold")
    model_decision: Decision = Field(description="the decision the model itself wrote")
    members: list[MemberReview]
    rejected: list[Rejected] = []
    cost_usd: float = 0.0
    elapsed_s: float = 0.0
