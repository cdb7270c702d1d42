"""Which ideas of a sweep go on to experiments, and the sweep's summary file."""

from pathlib import Path

from pydantic import BaseModel

from aisci.files import write_json
from aisci.ideation.generate import Rejected
from aisci.ideation.models import Idea
from aisci.literature.models import NoveltyResult


class SweepIdea(BaseModel):
    idea: Idea
    novelty: NoveltyResult
    run: bool
    note: str | None = None


class Sweep(BaseModel):
    """`<workspace>/<sweep-id>/ideas.json`: the ranked ideas, their verdicts and which of them run."""

    sweep_id: str
    template: str
    ideas: list[SweepIdea]
    rejected: list[Rejected] = []

    def table(self) -> list[dict[str, object]]:
        """One row per idea, for the CLI and the Prefect artifact."""
        return [
            {
                "rank": rank,
                "name": s.idea.name,
                "title": s.idea.title,
                "score": s.idea.score,
                "interestingness": s.idea.interestingness,
                "feasibility": s.idea.feasibility,
                "novelty": s.idea.novelty,
                "verdict": s.novelty.verdict,
                "run": "yes" if s.run else "no",
                "note": s.note or "",
            }
            for rank, s in enumerate(self.ideas, 1)
        ]


def decide_runs(ideas: list[Idea], results: list[NoveltyResult], run_unknown: bool) -> list[SweepIdea]:
    """Novel ideas run and unoriginal ones do not; an unchecked idea runs only if the sweep allows it, and
    carries a note so its paper and review know its novelty was never verified."""
    decided = []
    for idea, novelty in zip(ideas, results, strict=True):
        note = None
        if novelty.verdict == "unknown":
            note = f"novelty unverified: {novelty.reason or 'no verdict'}"
        decided.append(
            SweepIdea(
                idea=idea,
                novelty=novelty,
                run=novelty.verdict == "novel" or (novelty.verdict == "unknown" and run_unknown),
                note=note,
            )
        )
    return decided


def save_sweep(workspace: Path, sweep: Sweep) -> Path:
    path = workspace / sweep.sweep_id / "ideas.json"
    write_json(path, sweep.model_dump(mode="json"))
    return path
