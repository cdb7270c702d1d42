"""The review form and the records a review produces: the schema the model fills in, validated ranges.

The score scales are defined once, here: the schema's ranges and descriptions and the prompt's rubric
(aisci.review.prompts) are both built from them.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

Decision = Literal["Accept", "Reject"]
Scale = dict[int, str]

SUB_SCALE: Scale = {1: "poor", 2: "fair", 3: "good", 4: "excellent"}
OVERALL_SCALE: Scale = {
    1: "trivial or wrong",
    2: "strong reject",
    3: "reject",
    4: "leaning reject",
    5: "borderline reject",
    6: "borderline accept",
    7: "accept",
    8: "strong accept",
    9: "very strong accept",
    10: "award quality",
}
CONFIDENCE_SCALE: Scale = {
    1: "educated guess",
    2: "unsure, may have missed parts",
    3: "fairly confident",
    4: "confident, did not check every detail",
    5: "certain, checked the details",
}


def scale_text(scale: Scale) -> str:
    return ", ".join(f"{point} {meaning}" for point, meaning in sorted(scale.items()))


def scale_field(scale: Scale) -> Any:
    """A required integer field ranging over `scale`, described by it."""
    return Field(ge=min(scale), le=max(scale), description=scale_text(scale))


Point = Annotated[str, StringConstraints(max_length=400)]
Points = Annotated[list[Point], Field(max_length=6)]
Sub = Annotated[int, scale_field(SUB_SCALE)]

SUB_SCORES = (
    "originality",
    "quality",
    "clarity",
    "significance",
    "soundness",
    "presentation",
    "contribution",
)
# The numeric fields averaged over the ensemble.
SCORES = (*SUB_SCORES, "overall", "confidence")


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
    overall: int = scale_field(OVERALL_SCALE)
    confidence: int = scale_field(CONFIDENCE_SCALE)
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
    repairs: int = Field(0, description="repair rounds its replies needed (each resends the paper)")
    cost_usd: float = 0.0


class MetaReview(BaseModel):
    """The area chair's form: None when there is one member or its reply stayed invalid."""

    form: ReviewForm | None = None
    rejected: list[Rejected] = []
    repairs: int = 0


class Threshold(BaseModel):
    """The mean Overall at or above which a paper is accepted, and where that number came from."""

    value: float = Field(ge=1, le=10)
    source: str = Field(description="'given', 'default' (the AI Scientist's 6) or a calibration file")


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
    threshold_source: str = Field(
        "default", description="'given', 'default' (the AI Scientist's 6) or the calibration file used"
    )
    decision: Decision = Field(description="Accept when the mean Overall reaches the threshold")
    model_decision: Decision = Field(description="the decision the model itself wrote")
    members: list[MemberReview]
    rejected: list[Rejected] = []
    repairs: int = Field(0, description="repair rounds over all members and the meta-review")
    cost_usd: float = 0.0
    elapsed_s: float = 0.0
