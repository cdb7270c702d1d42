"""reproduce.json, written and read only here: per run and metric, the original, the re-run and the verdict.

The idea's reproduction rate is the fraction of non-timing metrics that agree, over every completed run asked
for: a run that could not be re-run (no code snapshot) or whose re-run failed counts with all its metrics as
not reproduced, never left out.
"""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError, computed_field

from aisci.reproduce.compare import STDERR_SIGMAS, MetricCheck

REPORT = "reproduce.json"

RunStatus = Literal["reproduced", "not_reproduced", "failed", "unreproducible"]


class RunReproduction(BaseModel):
    run: int
    status: RunStatus
    folder: str = ""  # the re-run's working folder, relative to the idea folder
    message: str = ""
    original_s: float | None = None  # wall-clock seconds of the original run and of the re-run
    rerun_s: float | None = None
    checks: list[MetricCheck] = []

    @property
    def disagreeing(self) -> list[str]:
        return [c.name for c in self.checks if not c.agree and not c.timing]


class ReproductionReport(BaseModel):
    idea_dir: str
    reproduction: int  # the n of reproductions/<n>/
    backend: str
    image: str | None
    image_id: str | None
    original_image_id: str | None  # from the idea's manifest.json, when it has one
    runs: list[RunReproduction]
    agreed: int  # non-timing metrics that agree
    compared: int  # non-timing metrics of the runs asked for
    timing_agreed: int
    timing_compared: int
    original_s: float  # the runs' durations, where known on both sides
    rerun_s: float

    @computed_field
    @property
    def rate(self) -> float | None:
        return self.agreed / self.compared if self.compared else None

    def sentence(self) -> str:
        """What the paper's appendix says about it."""
        runs = len(self.runs)
        text = (
            f"Every number in this paper was re-run: each of the {runs} completed run{'s' * (runs != 1)} "
            "was executed again from its code snapshot in a fresh sandbox with the same image, seeds and "
            "parameters. "
            f"{self.agreed} of {self.compared} reported metrics agreed with the re-run"
            + (f" (a reproduction rate of {100 * self.rate:.0f}%)" if self.rate is not None else "")
            + f", a metric agreeing when the two differ by at most {STDERR_SIGMAS:g} times their combined "
            "standard error, the template's tolerance, or not at all where neither applies; timing metrics "
            "were compared only loosely and are not counted."
        )
        failed = [r for r in self.runs if r.status != "reproduced"]
        if failed:
            text += " Not reproduced: " + "; ".join(_why(r) for r in failed) + "."
        return text


def _why(run: RunReproduction) -> str:
    if run.status == "unreproducible":
        return f"run {run.run} (no code snapshot)"
    if run.status == "failed":
        return f"run {run.run} (the re-run failed)"
    names = run.disagreeing
    shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    return f"run {run.run} ({shown})"


def read_report(idea_dir: Path) -> ReproductionReport | None:
    """The idea's latest reproduction; None when it has none or the file cannot be read."""
    path = Path(idea_dir) / REPORT
    try:
        return ReproductionReport.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValidationError):
        return None


def reproduction_sentence(idea_dir: Path) -> str:
    """The appendix's sentence; empty when the idea was not reproduced."""
    report = read_report(idea_dir)
    return report.sentence() if report else ""
