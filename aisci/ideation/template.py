"""What idea generation reads from a research template: its prompt, code, parameters and seed ideas."""

import json
from dataclasses import dataclass, field
from pathlib import Path

from aisci import templates
from aisci.errors import TemplateError
from aisci.ideation.similar import Known


@dataclass
class IdeaTemplate:
    name: str
    folder: Path
    system: str
    task_description: str
    code: str
    seeds: list[dict] = field(default_factory=list)
    parameters: str = ""  # the declared parameters, one line each: what a parameter study may vary

    def seed_known(self) -> list[Known]:
        """Seed ideas in the v1 format (`Name`, `Title`, `Experiment`), keys in any case."""
        known = []
        for seed in self.seeds:
            lower = {str(k).lower(): str(v) for k, v in seed.items()}
            if "name" in lower:
                known.append(Known(lower["name"], lower.get("title", ""), lower.get("experiment", "")))
        return known


def load_template(name_or_path: str) -> IdeaTemplate:
    folder = templates.resolve(name_or_path)
    try:
        code = (folder / "experiment.py").read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"template {folder.name}: experiment.py cannot be read ({exc})") from None
    try:
        prompt = json.loads((folder / "prompt.json").read_text(encoding="utf-8"))
        system, task = prompt["system"], prompt["task_description"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise TemplateError(
            f"template {folder.name}: prompt.json is missing or lacks 'system' or 'task_description' "
            f"({type(exc).__name__}: {exc})",
            hint="see the template contract in DESIGN.md",
        ) from None
    seeds_path = folder / "seed_ideas.json"
    try:
        seeds = json.loads(seeds_path.read_text(encoding="utf-8")) if seeds_path.exists() else []
    except json.JSONDecodeError as exc:
        raise TemplateError(f"template {folder.name}: seed_ideas.json is not valid JSON ({exc})") from None
    return IdeaTemplate(
        name=folder.name,
        folder=folder,
        system=str(system),
        task_description=str(task),
        code=code,
        seeds=[s for s in seeds if isinstance(s, dict)] if isinstance(seeds, list) else [],
        parameters=templates.parameters_text(templates.load_spec(folder)),
    )
