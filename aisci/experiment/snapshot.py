"""Code snapshots: every file a run could read from the idea folder, kept in `run_i/code/` once it completes.

A run executes with the idea folder as its working folder, so it could read any file there: the template's
code and data, and modules the model added. The snapshot keeps all of them, and leaves out aisci's own records
and outputs: run folders and failed attempts, figures, the paper's latex/, reproductions/, transcripts, notes
and the idea's JSON records. `python experiment.py` inside `run_i/code/` re-runs the run; `run_i.py`
(experiment.py alone) stays beside the folder for AI Scientist v1 readers.
"""

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from aisci.experiment import folder

CODE = "code"
SKIP_DIRS = re.compile(r"^(run_\d+(\.failed-\d+)?|figures(\.old-\d+)?|latex|reproductions|__pycache__|\..*)$")
SKIP_FILES = re.compile(r"^(run_\d+\.py|.*\.(jsonl|png|pdf|pyc)|\..*)$")
# what the stages write beside the code (experiment.json: the experiment flow's summary)
RECORDS = {
    "idea.json",
    "novelty.json",
    "notes.txt",
    "experiment.json",
    "build_report.json",
    "review.json",
    "manifest.json",
    "reproduce.json",
}


def code_dir(idea_dir: Path, run: int) -> Path:
    return folder.run_dir(idea_dir, run) / CODE


def code_files(idea_dir: Path) -> list[Path]:
    """The idea folder's code and data, relative to it; symlinks are never followed."""
    return list(_walk(idea_dir, idea_dir))


def save(idea_dir: Path, run: int) -> Path:
    """Copy the code the run used into `run_i/code/`, replacing an older copy."""
    target = code_dir(idea_dir, run)
    if target.exists():
        shutil.rmtree(target)
    for rel in code_files(idea_dir):
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(idea_dir / rel, target / rel)
    return target


def _walk(here: Path, root: Path) -> Iterator[Path]:
    for path in sorted(here.iterdir()):
        if path.is_symlink():
            continue
        if path.is_dir():
            if not SKIP_DIRS.match(path.name):
                yield from _walk(path, root)
        elif path.is_file() and not _skipped(path.name, top=here == root):
            yield path.relative_to(root)


def _skipped(name: str, top: bool) -> bool:
    return bool(SKIP_FILES.match(name)) or (top and name in RECORDS)
