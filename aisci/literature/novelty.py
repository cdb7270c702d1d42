"""The novelty check: rounds in which the model searches Semantic Scholar or decides.

Each round the model either proposes a query, and sees the hits, or decides novel / not novel, naming the
closest papers by their numbers. A decision must follow at least one search, so the justification rests on
papers actually seen; the last round allows only a decision. If Semantic Scholar cannot be reached, or the
model never searched, the verdict is `unknown` with the reason, and the sweep decides whether such ideas
still run.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from aisci.files import write_json
from aisci.literature.models import NoveltyResult, Paper, SearchResult
from aisci.literature.s2 import LiteratureUnavailable, S2Options
from aisci.llm import Gateway

SYSTEM = (
    "You are an experienced machine learning researcher checking whether a research idea is novel before "
    "any time is spent on it. You search Semantic Scholar, one query per round, and read the hits. "
    "Call an idea not novel only when a paper already tests essentially the same hypothesis in the same "
    "way; related work that differs in a substantive way does not count. Be critical: a well-known trick "
    "applied unchanged is not novel."
)


class NoveltyOptions(BaseModel):
    """How hard one idea's check looks: the sweep, the idea flow and `aisci ideas` share it."""

    rounds: int = Field(5, ge=1, le=20, description="model turns: searches plus the decision")
    s2: S2Options = S2Options()


class NoveltyStep(BaseModel):
    thought: str = Field(max_length=600, description="what you learned so far and what to do next")
    decision: Literal["search", "novel", "not_novel"]
    query: str = Field("", max_length=120, description="the Semantic Scholar query, when searching")
    closest: list[int] = Field([], max_length=3, description="numbers [n] of the closest papers seen")
    justification: str = Field("", max_length=800, description="the verdict's reason, naming those papers")


class FinalStep(NoveltyStep):
    decision: Literal["novel", "not_novel"]


def check_novelty(
    idea_name: str,
    title: str,
    description: str,
    gateway: Gateway,
    search: Callable[[str], SearchResult],
    rounds: int = 5,
) -> NoveltyResult:
    """Up to `rounds` model turns; `search` is the literature search (normally `S2Client.search`).

    Budget and model errors propagate: they are not facts about the literature."""
    result = NoveltyResult(idea=idea_name, verdict="unknown")
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"The idea: {title}\n{description}\n\n{_round_note(1, rounds)}"},
    ]
    for round_ in range(1, rounds + 1):
        step = gateway.complete_json("ideation", messages, FinalStep if round_ == rounds else NoveltyStep)
        messages.append({"role": "assistant", "content": step.model_dump_json()})
        result.rounds = round_
        if step.decision != "search" and result.queries:
            seen = result.papers_seen
            return result.model_copy(
                update={
                    "verdict": step.decision,
                    "justification": step.justification or step.thought,
                    "closest": [seen[n - 1] for n in dict.fromkeys(step.closest) if 1 <= n <= len(seen)],
                }
            )
        if step.decision != "search" and round_ == rounds:
            reason = f"the model gave verdicts without searching in all {rounds} rounds"
            return result.model_copy(update={"reason": f"{reason} (it said {step.decision})"})
        if step.decision == "search":
            try:
                found = search(step.query or title)
            except LiteratureUnavailable as exc:
                return result.model_copy(update={"reason": str(exc), "unreachable": True})
            result.queries.append(found)
            reply = _hits(found, result.papers_seen)
        else:
            reply = "Search first: a verdict must name the closest papers you have seen."
        messages.append({"role": "user", "content": f"{reply}\n\n{_round_note(round_ + 1, rounds)}"})
    return result  # unreachable: the last round's schema allows only a decision, handled above


def _hits(found: SearchResult, seen: list[Paper]) -> str:
    if not found.papers:
        return f"No papers found for {found.query!r}. Try other words, or decide."
    by_key = {p.paper_id or p.title: n for n, p in enumerate(seen, 1)}
    lines = [f"Results for {found.query!r}:"]
    for paper in found.papers:
        lines.append(f"[{by_key[paper.paper_id or paper.title]}] {paper.cite_line()}")
        if paper.abstract:
            lines.append(f"    {paper.abstract}")
    return "\n".join(lines)


def _round_note(round_: int, rounds: int) -> str:
    if round_ >= rounds:
        return f"Round {rounds} of {rounds}: decide now, novel or not_novel, naming the closest papers [n]."
    return (
        f"Round {round_} of {rounds}: give decision 'search' with a query, or decide 'novel' or 'not_novel' "
        "with the numbers of the closest papers and a justification that names them."
    )


def save_novelty(folder: Path, result: NoveltyResult) -> Path:
    path = folder / "novelty.json"
    write_json(path, result.model_dump(mode="json"))
    return path
