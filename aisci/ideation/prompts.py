"""The words idea generation sends to the model."""

import json

from aisci.ideation.archive import ArchiveEntry
from aisci.ideation.models import Idea, IdeaDraft
from aisci.ideation.similar import Known

MAX_LISTED = 40  # names of earlier ideas shown; enough to steer away from repeats without flooding the prompt


def archive_section(known: list[Known], best: list[ArchiveEntry], worst: list[ArchiveEntry]) -> str:
    lines = []
    if best:
        lines.append("Best outcomes of earlier ideas for this template (build on what worked):")
        lines += [f"- {e.idea.name}: {e.idea.title} -- {e.outcome.summary()}" for e in best]
    if worst:
        lines.append("Worst outcomes of earlier ideas (avoid what went wrong):")
        lines += [f"- {e.idea.name}: {e.idea.title} -- {e.outcome.summary()}" for e in worst]
    if known:
        lines.append("Ideas already explored for this template (do not propose these again):")
        lines += [f"- {k.name}: {k.title}" for k in known[-MAX_LISTED:]]
    return "\n".join(lines)


def generation_request(
    task_description: str,
    code: str,
    history: str,
    this_sweep: list[Idea],
    number: int,
    total: int,
    feedback: str | None,
    parameters: str = "",
) -> str:
    parts = [
        task_description.strip(),
        f"Every idea must be tested by editing this experiment code (experiment.py):\n```python\n{code}\n```",
    ]
    if parameters:
        parts.append(
            "Runs may also set these declared parameters without editing the code, so an idea may plan a "
            f"parameter study (which settings each run compares against the baseline):\n{parameters}"
        )
    if history:
        parts.append(history)
    if this_sweep:
        listed = "\n".join(f"- {i.name}: {i.title}" for i in this_sweep)
        parts.append(f"Ideas already proposed in this sweep:\n{listed}")
    ask = (
        f"Propose idea {number} of {total}: one new research idea that can be tested with this code within "
        "its compute budget. Give a short snake_case name, a title, the hypothesis, the experiment plan "
        "(what to change and which runs to compare against the baseline), the risks, and honest 1-10 scores "
        "for interestingness, feasibility and novelty."
    )
    if feedback:
        ask = f"Your previous proposal was rejected: {feedback}. Propose a clearly different idea.\n{ask}"
    parts.append(ask)
    return "\n\n".join(parts)


def reflection_request(round_: int, rounds: int) -> str:
    return (
        f"Reflection round {round_} of {rounds}. Critically assess the idea you just gave: is it sound, new, "
        "clearly testable with this code, and are its scores honest? Improve it where you can, keeping its "
        "spirit unless it has clear flaws. If it needs no change, return it unchanged with done = true."
    )


def as_reply(draft: IdeaDraft) -> str:
    return json.dumps(draft.model_dump(), ensure_ascii=False)
