"""What an idea folder says about its experiments: the disk is the state, so a stage resumes where it stopped.

run_0/            the baseline
run_3/            a completed run: final_info.json, config.json where the template writes one, params.json
                  where the run set declared parameters, and code/,
                  every code and data file the run could read (aisci.experiment.snapshot)
run_3.py          run 3's experiment.py; written last, it marks the run complete
run_4.failed-1/   attempt 1 of run 4 failed; attempt.json says how, with the raw reply if it was unusable
notes.txt         what each run tested, its measured results, and the figures (aisci.experiment.notes)
figures/          the PNGs plot.py drew from the completed runs
experiment.json   the finished stage's summary (ExperimentSummary): present, the stage is not run again
"""

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from aisci.errors import FinalInfoError
from aisci.files import write_json
from aisci.sandbox import read_final_info

RUN = re.compile(r"^run_(\d+)$")
ATTEMPT_RECORD = "attempt.json"
SUMMARY_FILE = "experiment.json"


class ExperimentSummary(BaseModel):
    """What the experiment stage hands the writeup: the completed runs, the figures, and why it stopped."""

    idea_dir: str
    runs: list[int]
    figures: list[str]
    ended_by: str


class Attempt(BaseModel):
    """How one attempt at a run ended; kept with its output, and fed back to the model when it failed."""

    run: int
    attempt: int
    status: Literal[
        "ok",
        "done",
        "failed",
        "timeout",
        "oom",
        "error",
        "edit_error",
        "bad_params",
        "bad_results",
        "bad_reply",
    ]
    message: str = ""
    reply: str = ""  # bad_reply: the model's raw reply, still invalid after the repair round
    stderr_tail: str = ""
    duration_s: float = 0.0


def run_dir(idea_dir: Path, run: int) -> Path:
    return idea_dir / f"run_{run}"


def results(idea_dir: Path, run: int) -> dict[str, Any]:
    """The run's `final_info.json`, read safely; FinalInfoError when it is missing or malformed."""
    return read_final_info(run_dir(idea_dir, run))


def is_complete(idea_dir: Path, run: int) -> bool:
    if run > 0 and not (idea_dir / f"run_{run}.py").is_file():
        return False
    try:
        results(idea_dir, run)
    except FinalInfoError:
        return False
    return True


def completed_runs(idea_dir: Path) -> list[int]:
    runs = sorted(int(m.group(1)) for p in idea_dir.iterdir() if p.is_dir() and (m := RUN.match(p.name)))
    return [run for run in runs if is_complete(idea_dir, run)]


def next_run(idea_dir: Path) -> int:
    """The run after the last completed one; a half-finished run is redone, its leftovers set aside."""
    done = [run for run in completed_runs(idea_dir) if run > 0]
    return (done[-1] + 1) if done else 1


def failed_attempts(idea_dir: Path, run: int) -> list[Path]:
    pattern = re.compile(rf"^run_{run}\.failed-(\d+)$")
    found = [(int(m.group(1)), p) for p in idea_dir.iterdir() if (m := pattern.match(p.name))]
    return [p for _, p in sorted(found)]


def failure_count(idea_dir: Path, statuses: set[str]) -> int:
    """Failed attempts of any run of the idea that ended in one of `statuses`."""
    count = 0
    for record in idea_dir.glob(f"run_*.failed-*/{ATTEMPT_RECORD}"):
        try:
            count += json.loads(record.read_text()).get("status") in statuses
        except (OSError, ValueError):
            continue
    return count


def set_aside(idea_dir: Path, run: int, record: Attempt) -> Path:
    """Move a failed run's output to `run_i.failed-k` with its attempt record, so nothing is lost."""
    target = idea_dir / f"run_{run}.failed-{len(failed_attempts(idea_dir, run)) + 1}"
    out = run_dir(idea_dir, run)
    if out.is_dir() and not out.is_symlink():
        out.rename(target)
    else:
        target.mkdir()
    write_json(target / ATTEMPT_RECORD, record.model_dump())
    return target


def last_failure(idea_dir: Path, run: int) -> Attempt | None:
    attempts = failed_attempts(idea_dir, run)
    record = attempts[-1] / ATTEMPT_RECORD if attempts else None
    if record is None or not record.is_file() or record.is_symlink():
        return None
    return Attempt.model_validate(json.loads(record.read_text()))


def read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""
