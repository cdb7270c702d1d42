"""Ideas as the model writes them, as aisci stores them, and what later happened to them."""

import re
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from aisci.literature.models import Verdict

SLUG_CHARS = 48


def slugify(text: str) -> str:
    """A folder-safe snake_case name; models write names in every style."""
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:SLUG_CHARS].strip("_")
    return slug or "idea"


class IdeaDraft(BaseModel):
    """The structured reply asked of the model. Bounded fields keep small models from running on."""

    name: str = Field(max_length=SLUG_CHARS, description="short snake_case identifier, e.g. adaptive_noise")
    title: str = Field(max_length=120, description="paper-style title")
    hypothesis: str = Field(max_length=300, description="the claim the experiments test, in one or two lines")
    experiment: str = Field(max_length=600, description="what to change in experiment.py and which runs")
    risks: str = Field(max_length=300, description="what could make the result uninformative")
    interestingness: int = Field(ge=1, le=10)
    feasibility: int = Field(ge=1, le=10)
    novelty: int = Field(ge=1, le=10)


class Reflection(BaseModel):
    """One reflection round: a critique, the revised idea, and whether the model is satisfied."""

    thought: str = Field(max_length=600, description="critique of the current idea")
    idea: IdeaDraft
    done: bool = Field(description="true when the idea needs no further change")


class Idea(IdeaDraft):
    """A generated idea as stored in `idea.json` and in the template's archive."""

    name: str = Field(max_length=SLUG_CHARS)
    template: str
    template_dir: str = Field(
        "", description="the template's folder when the idea was made; a worker elsewhere finds it by name"
    )
    sweep_id: str
    score: float = Field(0.0, description="weighted score used for ranking")
    reflections: int = Field(0, description="reflection rounds the idea went through")
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @field_validator("name", mode="before")
    @classmethod
    def _slug(cls, value: str) -> str:
        return slugify(str(value))


class ScoreWeights(BaseModel):
    """Weights of the ranking score, a weighted mean of the model's 1-10 self-assessments."""

    interestingness: float = Field(1.0, ge=0)
    feasibility: float = Field(1.0, ge=0)
    novelty: float = Field(1.0, ge=0)

    @model_validator(mode="after")
    def _not_all_zero(self) -> "ScoreWeights":
        if self.interestingness + self.feasibility + self.novelty <= 0:
            raise ValueError("at least one score weight must be positive")
        return self

    def score(self, idea: IdeaDraft) -> float:
        total = self.interestingness + self.feasibility + self.novelty
        weighted = (
            self.interestingness * idea.interestingness
            + self.feasibility * idea.feasibility
            + self.novelty * idea.novelty
        )
        return round(weighted / total, 3)


class Outcome(BaseModel):
    """What later stages learned about an idea; each stage fills in its own fields."""

    novelty: Verdict | None = None
    novelty_note: str | None = Field(None, description="the justification, or why the check failed")
    experiment: Literal["ok", "failed"] | None = None
    review_overall: float | None = Field(None, description="mean reviewer Overall score, 1-10")
    review_decision: str | None = None
    review_note: str | None = Field(None, description="the reviewers' main point, fed to later sweeps")

    def rank(self) -> float | None:
        """How well the idea turned out, for picking best and worst: None until something is known.

        A review is the strongest signal; a failed experiment or a known prior paper rank at the bottom."""
        if self.review_overall is not None:
            return self.review_overall
        if self.experiment == "failed" or self.novelty == "not_novel":
            return 0.0
        return None

    def summary(self) -> str:
        parts = []
        if self.review_overall is not None:
            decision = f" ({self.review_decision})" if self.review_decision else ""
            parts.append(f"review {self.review_overall:g}/10{decision}")
        if self.experiment:
            parts.append(f"experiment {self.experiment}")
        if self.novelty:
            parts.append(self.novelty.replace("_", " "))
        note = self.review_note or (self.novelty_note if self.novelty == "not_novel" else None)
        return ", ".join(parts) + (f": {note}" if note else "")


class ArchiveEntry(BaseModel):
    idea: Idea
    outcome: Outcome = Outcome()
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
