"""Making an idea's folder: the idea, a copy of its template's code, and the template's baseline as run_0."""

import json
import shutil
from pathlib import Path

from aisci.errors import ConfigError
from aisci.template_baseline import find_baseline
from aisci.templates import resolve

# Template content that is output, not code: never copied into an idea. Everything else is, template.json
# included: the later stages read the template's declarations from the idea folder.
NOT_CODE = shutil.ignore_patterns("run_*", "__pycache__", "*.pyc", "figures", "*.png", "final_info.json")


def prepare(idea_dir: Path, workspace: Path, smoke: bool = False) -> Path:
    """Copy what is missing, keep what is there: safe to call on every (re)run of the idea."""
    idea_file = idea_dir / "idea.json"
    if not idea_file.is_file():
        raise ConfigError(f"{idea_dir} has no idea.json", hint="ideas come from `aisci ideas` or a sweep")
    idea = json.loads(idea_file.read_text())
    recorded = idea.get("template_dir")
    template = Path(recorded) if recorded and Path(recorded).is_dir() else resolve(idea["template"])
    if not (idea_dir / "experiment.py").is_file():
        shutil.copytree(template, idea_dir, ignore=NOT_CODE, dirs_exist_ok=True)
    baseline = find_baseline(template, workspace, smoke=smoke)
    if baseline is not None and not (idea_dir / "run_0").exists():
        shutil.copytree(baseline, idea_dir / "run_0")
    return template
