"""Reviewing a paper: E independent reviews, each refined over R reflection rounds, then an area chair's
meta-review. Scores are ensemble means; the decision is a threshold on the mean Overall score, because a
model's own Accept/Reject is poorly calibrated, so it is kept beside the decision rather than used for it.
"""

import json
import statistics
from pathlib import Path

from pydantic import BaseModel, Field

from aisci.errors import ConfigError, LLMResponseError
from aisci.llm import Gateway
from aisci.llm import local as local_model
from aisci.review import prompts
from aisci.review.form import (
    SCORES,
    MemberReview,
    MetaReview,
    PaperInfo,
    Reflection,
    Rejected,
    Review,
    ReviewForm,
    Threshold,
)
from aisci.review.paper import Paper, read_paper

CHARS_PER_TOKEN = 3.5  # conservative for English prose with maths; no tokenizer download needed offline
DEFAULT_CONTEXT_TOKENS = 32_000  # a model the gateway knows nothing about
REPLY_TOKENS = 4096
MIN_PAPER_CHARS = 2000


class Example(BaseModel):
    """A few-shot example the user supplies: a paper's text and the review it should get."""

    paper_text: str
    review: ReviewForm


class ReviewConfig(BaseModel):
    ensemble: int = Field(5, ge=1, le=20, description="independent reviews averaged (E)")
    reflections: int = Field(5, ge=0, le=10, description="reflection rounds per review (R)")
    threshold: float | None = Field(
        None,
        ge=1,
        le=10,
        description="mean Overall at or above which the paper is accepted; unset: the calibrated threshold "
        "of this model and set-up (aisci bench review), else 6",
    )
    temperature: float = Field(0.75, ge=0, le=2, description="sampling temperature; > 0 so reviews differ")
    context_tokens: int | None = Field(None, gt=0, description="the model's context; default: the gateway's")
    examples: list[Example] = []


def load_examples(papers: list[Path]) -> list[Example]:
    """Few-shot pairs from paper files (.pdf or .txt), each with its review beside it as `<stem>.json`.

    Keys are matched case-insensitively with spaces as underscores, so AI Scientist review files work."""
    examples = []
    for paper in papers:
        review_path = paper.with_suffix(".json")
        if not review_path.is_file():
            raise ConfigError(f"the example {paper} has no review at {review_path}")
        try:
            raw = json.loads(review_path.read_text())
            form = ReviewForm.model_validate({k.lower().replace(" ", "_"): v for k, v in raw.items()})
        except (json.JSONDecodeError, AttributeError, ValueError) as exc:
            raise ConfigError(f"{review_path} is not a valid review: {exc}") from None
        examples.append(Example(paper_text="\n\n".join(read_paper(paper).pages), review=form))
    return examples


class Reviewer:
    """The review's steps through one gateway; aisci.review.loop runs them, here or as Prefect tasks."""

    def __init__(self, gateway: Gateway, config: ReviewConfig | None = None) -> None:
        self.gateway = gateway
        self.config = config or ReviewConfig()
        self.local = gateway.target("review").local
        # The prompt states the limits of the schemas the gateway holds replies to.
        self.reflection_schema = gateway.reply_schema("review", Reflection, REPLY_TOKENS)
        self.guide = prompts.form_guide(gateway.reply_schema("review", ReviewForm, REPLY_TOKENS))
        self.repairs = 0

    def context_tokens(self) -> int:
        if self.config.context_tokens:
            return self.config.context_tokens
        return self.gateway.context_window("review", default=DEFAULT_CONTEXT_TOKENS)

    def prepare(self, paper: Paper) -> tuple[list[dict[str, str]], PaperInfo]:
        """The review messages with the paper (and examples) cut to the model's context.

        Room is kept for two replies: a reflection round sends the previous review back with the paper."""
        reply_tokens = local_model.MAX_TOKENS if self.local else REPLY_TOKENS
        budget = int((self.context_tokens() - 2 * reply_tokens) * CHARS_PER_TOKEN)
        overhead = len(json.dumps(prompts.review_messages("", [], self.guide))) + len(
            json.dumps(self.reflection_schema)
        )
        room = budget - overhead
        examples = []
        for example in self.config.examples:
            share = room // (len(self.config.examples) + 2)
            text, _ = Paper(source="example", pages=[example.paper_text]).fit(share)
            examples.append((text, example.review))
        room -= sum(len(text) + len(form.model_dump_json()) + 200 for text, form in examples)
        if room < MIN_PAPER_CHARS:
            raise ConfigError(
                f"the model's context ({self.context_tokens()} tokens) leaves no room for the paper",
                hint="use fewer few-shot examples, or a model with a longer context",
            )
        text, info = paper.fit(room)
        return prompts.review_messages(text, examples, self.guide), info

    def member(self, messages: list[dict[str, str]], index: int) -> MemberReview:
        """One independent review and its reflection rounds. A reflection reply that stays invalid ends the
        rounds and keeps the last valid form; an invalid first review raises LLMResponseError."""
        started, repairs = self.gateway.spent_usd, self.repairs
        form = self._ask(messages, ReviewForm)
        rounds, done, rejected = 0, False, []
        for round_ in range(1, self.config.reflections + 1):
            turn = [
                *messages,
                {"role": "assistant", "content": form.model_dump_json()},
                {
                    "role": "user",
                    "content": prompts.reflection_message(
                        round_, self.config.reflections, self.reflection_schema
                    ),
                },
            ]
            try:
                reflection = self._ask(turn, Reflection)
            except LLMResponseError as exc:
                rejected.append(rejection(f"review {index} reflection {round_}", exc))
                break
            rounds, form = round_, reflection.review
            if reflection.done:
                done = round_ < self.config.reflections
                break
        return MemberReview(
            index=index,
            form=form,
            reflections=rounds,
            stopped_early=done,
            rejected=rejected,
            repairs=self.repairs - repairs,
            cost_usd=self.gateway.spent_usd - started,
        )

    def meta_review(self, members: list[MemberReview]) -> MetaReview:
        """The area chair's form over two or more reviews; no form, with the rejected reply, when invalid."""
        if len(members) < 2:
            return MetaReview()
        repairs = self.repairs
        messages = prompts.meta_review_messages([m.form for m in members], self.guide)
        try:
            return MetaReview(form=self._ask(messages, ReviewForm), repairs=self.repairs - repairs)
        except LLMResponseError as exc:
            return MetaReview(rejected=[rejection("meta-review", exc)], repairs=self.repairs - repairs)

    def _ask(self, messages: list[dict[str, str]], schema: type[BaseModel]):
        """The gateway's validated reply; every call past the first was a repair round."""
        usage = self.gateway.usage.get("review")
        before = usage.calls if usage else 0
        try:
            return self.gateway.complete_json(
                "review", messages, schema, temperature=self.config.temperature, max_tokens=REPLY_TOKENS
            )
        finally:
            usage = self.gateway.usage.get("review")
            self.repairs += max(0, (usage.calls if usage else 0) - before - 1)


def rejection(step: str, exc: LLMResponseError) -> Rejected:
    return Rejected(step=step, error=exc.message, raw=exc.raw)


def combine(
    info: PaperInfo,
    members: list[MemberReview],
    meta: MetaReview,
    rejected: list[Rejected],
    threshold: Threshold,
    model: str,
) -> Review:
    """Ensemble means, the threshold decision, and the text of the meta-review.

    Without a meta-review (one member, or the area chair's reply was rejected), the text comes from the
    member whose Overall is closest to the mean."""
    rejected = [*rejected, *meta.rejected, *(r for m in members for r in m.rejected)]
    if not members:
        raw = "\n---\n".join(r.raw for r in rejected)
        raise LLMResponseError(
            f"every review of {info.source} was rejected as invalid; the first: {rejected[0].error}",
            raw=raw,
            hint="see the transcript",
        )
    scores = {name: statistics.fmean(getattr(m.form, name) for m in members) for name in SCORES}
    overall = scores["overall"]
    form = meta.form or min(members, key=lambda m: abs(m.form.overall - overall)).form
    return Review(
        paper=info,
        model=model,
        form=form,
        scores=scores,
        overall=overall,
        threshold=threshold.value,
        threshold_source=threshold.source,
        decision="Accept" if overall >= threshold.value else "Reject",
        model_decision=form.decision,
        members=members,
        rejected=rejected,
        repairs=meta.repairs + sum(m.repairs for m in members),
    )
