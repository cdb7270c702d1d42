"""Idea generation: propose, reflect, reject near-duplicates, score and rank.

Each idea is one proposal followed by up to K reflection rounds in which the model critiques and revises
it. Near-duplicates of seeds, archived ideas or earlier ideas of the sweep are rejected and the model is
told why, a capped number of times per idea.
"""

import logging
from pathlib import Path

from pydantic import BaseModel, Field

from aisci.files import write_json
from aisci.ideation import prompts
from aisci.ideation.archive import Archive
from aisci.ideation.models import Idea, IdeaDraft, Reflection, ScoreWeights
from aisci.ideation.similar import Known, find_duplicate
from aisci.ideation.template import IdeaTemplate
from aisci.llm import Gateway

log = logging.getLogger("aisci.ideation")


class GenerationOptions(BaseModel):
    num_ideas: int = Field(3, ge=1, le=50)
    reflections: int = Field(3, ge=0, le=10, description="reflection rounds per idea")
    weights: ScoreWeights = ScoreWeights()
    similarity_threshold: float = Field(
        0.6, gt=0, le=1, description="content-word overlap at which an idea counts as a duplicate"
    )
    duplicate_retries: int = Field(2, ge=0, description="new proposals asked for after a duplicate")
    code_chars: int = Field(12_000, ge=1_000, description="experiment.py is cut here to fit small contexts")
    outcomes_shown: int = Field(3, ge=0, description="best and worst past outcomes put in the prompt")


class Rejected(BaseModel):
    name: str
    title: str
    reason: str


class Generated(BaseModel):
    ideas: list[Idea] = Field(description="accepted ideas, best score first")
    rejected: list[Rejected] = []


def generate_ideas(
    template: IdeaTemplate,
    gateway: Gateway,
    archive: Archive,
    sweep_id: str,
    options: GenerationOptions,
) -> Generated:
    """N ideas for one sweep, ranked by the weighted score and added to the template's archive."""
    earlier = [e for e in archive.entries() if e.idea.sweep_id != sweep_id]
    known = template.seed_known() + [Known(e.idea.name, e.idea.title, e.idea.hypothesis) for e in earlier]
    best, worst = archive.best_and_worst(options.outcomes_shown) if options.outcomes_shown else ([], [])
    history = prompts.archive_section(known, best, worst)
    code = template.code[: options.code_chars]
    accepted: list[Idea] = []
    rejected: list[Rejected] = []

    for number in range(1, options.num_ideas + 1):
        feedback = None
        for _ in range(options.duplicate_retries + 1):
            request = prompts.generation_request(
                template.task_description,
                code,
                history,
                accepted,
                number,
                options.num_ideas,
                feedback,
                template.parameters,
            )
            messages = [
                {"role": "system", "content": template.system},
                {"role": "user", "content": request},
            ]
            draft = gateway.complete_json("ideation", messages, IdeaDraft)
            others = known + [Known(i.name, i.title, i.hypothesis) for i in accepted]
            feedback = _duplicate(draft, others, options.similarity_threshold)
            if feedback is None:
                draft, rounds = _reflect(gateway, messages, draft, options.reflections)
                feedback = _duplicate(draft, others, options.similarity_threshold)
            if feedback is not None:
                log.info("rejected idea %s: %s", draft.name, feedback)
                rejected.append(Rejected(name=draft.name, title=draft.title, reason=feedback))
                continue
            accepted.append(
                Idea(
                    **draft.model_dump(),
                    template=template.name,
                    template_dir=str(template.folder),
                    sweep_id=sweep_id,
                    score=options.weights.score(draft),
                    reflections=rounds,
                )
            )
            break

    ranked = sorted(accepted, key=lambda i: i.score, reverse=True)
    for idea in ranked:
        archive.add(idea)
    return Generated(ideas=ranked, rejected=rejected)


def _duplicate(draft: IdeaDraft, known: list[Known], threshold: float) -> str | None:
    return find_duplicate(draft.name, f"{draft.title} {draft.hypothesis}", known, threshold)


def _reflect(gateway: Gateway, messages: list[dict], draft: IdeaDraft, rounds: int) -> tuple[IdeaDraft, int]:
    """Up to `rounds` critique-and-revise rounds; only the latest version stays in the context."""
    for round_ in range(1, rounds + 1):
        reply = gateway.complete_json(
            "ideation",
            [
                *messages,
                {"role": "assistant", "content": prompts.as_reply(draft)},
                {"role": "user", "content": prompts.reflection_request(round_, rounds)},
            ],
            Reflection,
        )
        draft = reply.idea
        if reply.done:
            return draft, round_
    return draft, rounds


def idea_dir(workspace: Path, idea: Idea) -> Path:
    """`<workspace>/<sweep-id>/<idea-name>/`, where every later stage of the idea writes."""
    return workspace / idea.sweep_id / idea.name


def save_idea(workspace: Path, idea: Idea) -> Path:
    path = idea_dir(workspace, idea) / "idea.json"
    write_json(path, idea.model_dump(mode="json"))
    return path
