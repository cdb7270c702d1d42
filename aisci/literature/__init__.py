"""Literature search (Semantic Scholar) and the novelty check built on it."""

from aisci.literature.models import NoveltyResult, Paper, SearchResult, Verdict
from aisci.literature.novelty import NoveltyOptions, check_novelty, save_novelty
from aisci.literature.s2 import LiteratureUnavailable, S2Client, S2Options

__all__ = [
    "LiteratureUnavailable",
    "NoveltyOptions",
    "NoveltyResult",
    "Paper",
    "S2Client",
    "S2Options",
    "SearchResult",
    "Verdict",
    "check_novelty",
    "save_novelty",
]
