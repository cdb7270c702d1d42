"""What a literature search returns and what a novelty check decides."""

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field

Verdict = Literal["novel", "not_novel", "unknown"]

ABSTRACT_CHARS = 1200  # enough for the model to judge overlap; whole abstracts bloat every later round


class Paper(BaseModel):
    """One Semantic Scholar search hit, reduced to what a novelty judgement and a citation need."""

    paper_id: str
    title: str
    year: int | None = None
    venue: str | None = None
    authors: list[str] = []
    citation_count: int | None = None
    abstract: str | None = None
    url: str | None = None

    @classmethod
    def from_s2(cls, data: dict[str, Any]) -> "Paper":
        """From the API's JSON; missing or null fields stay empty rather than failing the search."""
        abstract = data.get("abstract") or None
        return cls(
            paper_id=str(data.get("paperId") or ""),
            title=str(data.get("title") or "(untitled)"),
            year=data.get("year"),
            venue=data.get("venue") or None,
            authors=[a.get("name", "") for a in data.get("authors") or [] if isinstance(a, dict)],
            citation_count=data.get("citationCount"),
            abstract=abstract[:ABSTRACT_CHARS] if abstract else None,
            url=data.get("url"),
        )

    def cite_line(self) -> str:
        """One line for a prompt: title, first author, year, venue, citations."""
        who = f"{self.authors[0]} et al." if len(self.authors) > 1 else (self.authors or ["?"])[0]
        where = f", {self.venue}" if self.venue else ""
        cites = f", {self.citation_count} citations" if self.citation_count is not None else ""
        return f"{self.title} ({who}, {self.year or 'n.d.'}{where}{cites})"


class SearchResult(BaseModel):
    query: str
    papers: list[Paper]
    cached: bool = False


class NoveltyResult(BaseModel):
    """The verdict on one idea and the evidence behind it: saved as the idea's `novelty.json`."""

    idea: str
    verdict: Verdict
    justification: str = ""
    closest: list[Paper] = []
    reason: str | None = Field(None, description="why the verdict is unknown")
    unreachable: bool = Field(False, description="Semantic Scholar could not be reached")
    queries: list[SearchResult] = []
    rounds: int = 0
    checked_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @computed_field
    @property
    def papers_seen(self) -> list[Paper]:
        """Every distinct paper the searches returned, in the order first seen."""
        seen: dict[str, Paper] = {}
        for result in self.queries:
            for paper in result.papers:
                seen.setdefault(paper.paper_id or paper.title, paper)
        return list(seen.values())
