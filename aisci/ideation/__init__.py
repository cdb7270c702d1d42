"""Idea generation with reflection, the per-template archive, and ranking."""

from aisci.ideation.archive import Archive, record_outcome
from aisci.ideation.generate import Generated, GenerationOptions, generate_ideas, idea_dir, save_idea
from aisci.ideation.models import ArchiveEntry, Idea, IdeaDraft, Outcome, ScoreWeights
from aisci.ideation.template import IdeaTemplate, load_template

__all__ = [
    "Archive",
    "ArchiveEntry",
    "Generated",
    "GenerationOptions",
    "Idea",
    "IdeaDraft",
    "Outcome",
    "ScoreWeights",
    "IdeaTemplate",
    "generate_ideas",
    "idea_dir",
    "load_template",
    "record_outcome",
    "save_idea",
]
