"""What idea generation reads from a research template: its prompt, its code and its seed ideas."""

import json
from dataclasses import dataclass, field
from pathlib import Path

from aisci.errors import ConfigError
from aisci.ideas.similar import Known

REPO_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def template_dir(name_or_path: str) -> Path:
    """A template folder given as a path, or by name under ./templates or the repository's templates/."""
    candidates = [Path(name_or_path), Path("templates") / name_or_path, REPO_TEMPLATES / name_or_path]
    for candidate in candidates:
        if (candidate / "experiment.py").is_file():
            return candidate.resolve()
    available = sorted(p.name for p in REPO_TEMPLATES.glob("*") if (p / "experiment.py").is_file())
    raise ConfigError(
        f"no template {name_or_path!r} (a folder with experiment.py)",
        hint=f"try --template with one of: {', '.join(available)}" if available else None,
    )


@dataclass
class TemplateInfo:
    name: str
    system: str
    task_description: str
    code: str
    seeds: list[dict] = field(default_factory=list)

    def seed_known(self) -> list[Known]:
        """Seed ideas in the v1 format (`Name`, `Title`, `Experiment`), keys in any case."""
        known = []
        for seed in self.seeds:
            lower = {str(k).lower(): str(v) for k, v in seed.items()}
            if "name" in lower:
                known.append(Known(lower["name"], lower.get("title", ""), lower.get("experiment", "")))
        return known


def load_template(name_or_path: str) -> TemplateInfo:
    folder = template_dir(name_or_path)
    try:
        prompt = json.loads((folder / "prompt.json").read_text(encoding="utf-8"))
        system, task = prompt["system"], prompt["task_description"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"template {folder.name}: prompt.json is missing or lacks 'system' or 'task_description' "
            f"({type(exc).__name__}: {exc})",
            hint="see the template contract in DESIGN.md",
        ) from None
    seeds_path = folder / "seed_ideas.json"
    try:
        seeds = json.loads(seeds_path.read_text(encoding="utf-8")) if seeds_path.exists() else []
    except json.JSONDecodeError as exc:
        raise ConfigError(f"template {folder.name}: seed_ideas.json is not valid JSON ({exc})") from None
    return TemplateInfo(
        name=folder.name,
        system=str(system),
        task_description=str(task),
        code=(folder / "experiment.py").read_text(encoding="utf-8"),
        seeds=[s for s in seeds if isinstance(s, dict)] if isinstance(seeds, list) else [],
    )
