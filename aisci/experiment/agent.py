"""The experiment agent: the coding model edits the code, the sandbox runs it, the results go back.

The loop itself lives in the Prefect flow (`flows/experiment.py`), one task per attempt; this module holds the
steps, and keeps every step's outcome in the idea folder so the flow can resume anywhere.
"""

import ast
import io
import json
import shutil
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from aisci.edits import EditFormatError, apply_edits, parse_edits
from aisci.errors import ConfigError, ExperimentFailed, FinalInfoError
from aisci.experiment import folder, prompts
from aisci.experiment.folder import Attempt
from aisci.files import write_json
from aisci.llm import Gateway
from aisci.sandbox import SandboxResult, read_output_file, run_sandboxed
from aisci.settings import Settings
from aisci.templates import final_info_problems

FIGURES = "figures"
MAX_PNG_BYTES = 32 << 20


class ExperimentStep(BaseModel):
    """The coding model's reply for one attempt."""

    thought: str = Field("", max_length=4000, description="reasoning about the results so far")
    action: Literal["run", "done"] = Field(
        description="run: apply the edits and run; done: experiments finished"
    )
    description: str = Field(
        "", max_length=2000, description="what this run changes and tests, for the notes"
    )
    edits: str = Field("", max_length=30000, description="SEARCH/REPLACE blocks")


class FigureNote(BaseModel):
    file: str = Field(max_length=200)
    description: str = Field(max_length=2000)


class FigureNotes(BaseModel):
    figures: list[FigureNote] = Field(max_length=20)


class Limits(BaseModel):
    max_runs: int = Field(5, ge=1)
    max_attempts: int = Field(4, ge=1)
    timeout_s: float = Field(7200.0, gt=0)
    gpus: list[int] | None = None


class ExperimentAgent:
    def __init__(
        self, settings: Settings, idea_dir: Path, limits: Limits, gateway: Gateway | None = None
    ) -> None:
        self.settings = settings
        self.idea_dir = idea_dir.resolve()
        self.limits = limits
        self.gateway = gateway or Gateway(settings, run_dir=self.idea_dir)
        if not (self.idea_dir / "experiment.py").is_file():
            raise ConfigError(
                f"{self.idea_dir} has no experiment.py", hint="pass an idea folder made from a template"
            )

    # -- runs ---------------------------------------------------------------------------------------------

    def ensure_baseline(self) -> dict[str, Any]:
        """run_0 with the unmodified code; run once, reused after."""
        if folder.is_complete(self.idea_dir, 0):
            return folder.results(self.idea_dir, 0)
        self._set_aside_leftover(0, 1)
        outcome = self._execute(0, 1)
        if outcome.status != "ok":
            raise ExperimentFailed(
                f"the baseline run failed ({outcome.status}): {outcome.message}",
                hint=f"see {self.idea_dir.name}/run_0.failed-*/attempt.json and `aisci template check`",
            )
        return folder.results(self.idea_dir, 0)

    def attempt(self, run: int, attempt: int) -> Attempt:
        """Plan, edit and execute one attempt at `run`. Failures are recorded, set aside and returned."""
        if folder.run_dir(self.idea_dir, run).exists():
            leftover = Attempt(
                run=run, attempt=attempt, status="error", message="an interrupted attempt's output"
            )
            folder.set_aside(self.idea_dir, run, leftover)
        step = self.gateway.complete_json("coding", self._run_messages(run), ExperimentStep)
        if step.action == "done":
            return Attempt(run=run, attempt=attempt, status="done", message=step.thought)
        edit_error = self._apply(step.edits)
        if edit_error:
            record = Attempt(run=run, attempt=attempt, status="edit_error", message=edit_error)
            folder.set_aside(self.idea_dir, run, record)
            return record
        outcome = self._execute(run, attempt)
        if outcome.status == "ok":
            shutil.copyfile(self.idea_dir / "experiment.py", self.idea_dir / f"run_{run}.py")
            self._note_run(run, step.description)
        return outcome

    def _set_aside_leftover(self, run: int, attempt: int) -> None:
        """Output of an attempt that died with its worker: kept, out of the new attempt's way."""
        if folder.run_dir(self.idea_dir, run).exists():
            leftover = Attempt(
                run=run, attempt=attempt, status="error", message="an interrupted attempt's output"
            )
            folder.set_aside(self.idea_dir, run, leftover)

    def _apply(self, edits: str) -> str | None:
        """None when every block applied; otherwise the message for the model."""
        try:
            blocks = parse_edits(edits)
        except EditFormatError as exc:
            return f"The edits could not be read: {exc}."
        if not blocks:
            return "The reply had no SEARCH/REPLACE blocks; a run must change the code."
        result = apply_edits(self.idea_dir, blocks)
        return None if result.ok else result.feedback()

    def _execute(self, run: int, attempt: int) -> Attempt:
        out = folder.run_dir(self.idea_dir, run)
        result = self._sandbox(["python", "experiment.py", f"--out_dir=run_{run}"], out)
        record = Attempt(
            run=run,
            attempt=attempt,
            status=result.status,
            message=result.message or f"exit code {result.returncode}",
            stderr_tail=result.stderr_tail,
            duration_s=result.duration_s,
        )
        if result.status == "ok":
            try:
                problems = final_info_problems(folder.results(self.idea_dir, run))
            except FinalInfoError as exc:
                problems = [exc.message]
            if problems:
                record = record.model_copy(update={"status": "bad_results", "message": "; ".join(problems)})
        if record.status != "ok":
            folder.set_aside(self.idea_dir, run, record)
        else:
            write_json(out / folder.ATTEMPT_RECORD, record.model_dump())
        return record

    def _sandbox(self, argv: list[str], out: Path) -> SandboxResult:
        return run_sandboxed(
            self.idea_dir,
            argv,
            out,
            timeout_s=self.limits.timeout_s,
            gpus=self.limits.gpus,
            env={"AISCI_SMOKE": "1"} if self.settings.smoke else {},
        )

    def _run_messages(self, run: int) -> list[dict[str, str]]:
        template = _read_json(self.idea_dir / "prompt.json")
        user = prompts.run_prompt(
            task=template.get("task_description", ""),
            idea=_read_json(self.idea_dir / "idea.json"),
            code=folder.read_text(self.idea_dir / "experiment.py"),
            baseline=folder.results(self.idea_dir, 0),
            notes=folder.read_text(self.idea_dir / "notes.txt"),
            run=run,
            max_runs=self.limits.max_runs,
        )
        failure = folder.last_failure(self.idea_dir, run)
        if failure is not None:
            user += prompts.RETRY.format(
                attempt=failure.attempt, run=run, failure=prompts.failure_text(failure)
            )
        system = "\n\n".join(filter(None, [template.get("system", ""), prompts.SYSTEM]))
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def _note_run(self, run: int, description: str) -> None:
        """The notes get the model's description and the measured numbers, never numbers the model typed."""
        results = folder.results(self.idea_dir, run)
        text = f"## Run {run}\n{description.strip()}\n\nMeasured results:\n"
        text += compare(folder.results(self.idea_dir, 0), results) + "\n\n"
        _append(self.idea_dir / "notes.txt", text)

    # -- plots --------------------------------------------------------------------------------------------

    def plots(self) -> list[str]:
        """The model labels every completed run in plot.py, which runs in the sandbox; figures are checked."""
        runs = [f"run_{r}" for r in folder.completed_runs(self.idea_dir)]
        feedback = ""
        for attempt in range(1, self.limits.max_attempts + 1):
            problem = self._plot_attempt(runs, feedback)
            if problem is None:
                figures = sorted(p.name for p in (self.idea_dir / FIGURES).glob("*.png"))
                self._note_figures(figures)
                return figures
            feedback = f"\n\n## Attempt {attempt} failed\n{problem}\nFix it."
        raise ExperimentFailed(f"plot.py failed {self.limits.max_attempts} times; last problem: {problem}")

    def _plot_attempt(self, runs: list[str], feedback: str) -> str | None:
        user = prompts.PLOT_TASK.format(
            runs=", ".join(runs),
            format_guide=prompts.FORMAT_GUIDE,
            code=folder.read_text(self.idea_dir / "plot.py"),
            notes=folder.read_text(self.idea_dir / "notes.txt"),
        )
        step = self.gateway.complete_json(
            "coding", [{"role": "user", "content": user + feedback}], ExperimentStep
        )
        if step.edits.strip() and (error := self._apply(step.edits)):
            return error
        missing = [r for r in runs if r not in plot_labels(folder.read_text(self.idea_dir / "plot.py"))]
        if missing:
            return f"plot.py's labels dict does not name {', '.join(missing)}."
        out = self.idea_dir / FIGURES
        if out.exists():
            out.rename(_free_name(self.idea_dir, FIGURES))
        result = self._sandbox(["python", "plot.py", f"--out_dir={FIGURES}"], out)
        if result.status != "ok":
            return (
                f"plot.py failed ({result.status}): {result.message}\n```\n{result.stderr_tail[-3000:]}\n```"
            )
        return check_figures(out)

    def _note_figures(self, figures: list[str]) -> None:
        user = prompts.FIGURES_TASK.format(
            figures=", ".join(figures), notes=folder.read_text(self.idea_dir / "notes.txt")
        )
        notes = self.gateway.complete_json("writing", [{"role": "user", "content": user}], FigureNotes)
        described = {n.file: n.description for n in notes.figures}
        text = "## Figures\n" + "".join(
            f"- {FIGURES}/{name}: {described.get(name, '(no description)')}\n" for name in figures
        )
        _append(self.idea_dir / "notes.txt", text + "\n")


def compare(baseline: dict[str, Any], results: dict[str, Any]) -> str:
    """One line per metric: the run's value, the baseline's and the relative change."""
    lines = []
    for group, value in results.items():
        base = baseline.get(group, {}).get("means", {})
        for metric, number in value["means"].items():
            line = f"- {group}.{metric} = {number:.6g}"
            ref = base.get(metric)
            if isinstance(ref, int | float) and not isinstance(ref, bool):
                change = f", {100 * (number - ref) / abs(ref):+.1f}%" if ref else ""
                line += f" (baseline {ref:.6g}{change})"
            lines.append(line)
    return "\n".join(lines)


def plot_labels(source: str) -> set[str]:
    """The keys of plot.py's top-level `labels = {...}`."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "labels" for t in node.targets)
            and isinstance(node.value, ast.Dict)
        ):
            return {
                k.value for k in node.value.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)
            }
    return set()


def check_figures(out: Path) -> str | None:
    """None when there is at least one figure and each is a readable, non-blank PNG."""
    from PIL import Image

    names = sorted(p.name for p in out.glob("*.png")) if out.is_dir() else []
    if not names:
        return f"plot.py wrote no PNG files into {FIGURES}/."
    for name in names:
        try:
            data = read_output_file(out, name, MAX_PNG_BYTES)
            with Image.open(io.BytesIO(data)) as image:
                low, high = image.convert("L").getextrema()
        except (FinalInfoError, OSError) as exc:
            return f"{FIGURES}/{name} is not a readable PNG: {exc}"
        if low == high:
            return f"{FIGURES}/{name} is blank (a single colour)."
    return None


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(text)


def _free_name(parent: Path, name: str) -> Path:
    n = 1
    while (parent / f"{name}.old-{n}").exists():
        n += 1
    return parent / f"{name}.old-{n}"
