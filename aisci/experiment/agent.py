"""The experiment agent: the coding model edits the code, the sandbox runs it, the results go back.

The loop itself lives in the Prefect flow (`flows/experiment.py`), one task per attempt; this module holds the
steps, and keeps every step's outcome in the idea folder so the flow can resume anywhere.
"""

import ast
import base64
import io
import json
import shutil
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from aisci.edits import EditFormatError, apply_edits, parse_edits
from aisci.errors import ConfigError, ExperimentFailed, FinalInfoError, LLMResponseError
from aisci.experiment import folder, notes, prompts, snapshot
from aisci.experiment.folder import Attempt
from aisci.experiment.notes import FIGURES, FigureNote
from aisci.experiment.params import PARAMS_FILE, ParamSetting, settings_of, step_schema
from aisci.files import write_json
from aisci.llm import Gateway
from aisci.sandbox import SandboxResult, read_output_file, run_sandboxed
from aisci.settings import Settings
from aisci.templates import final_info_problems, load_spec, parameters_text, settings_label

MAX_PNG_BYTES = 32 << 20
MAX_IMAGE_BYTES = 5 << 20  # the smallest per-image limit among the hosted providers
MAX_IMAGES = 20
BASELINE_NOTE = "The template's code, unmodified."
EDIT_FAILURES = {"edit_error", "bad_reply"}
EDIT_FALLBACK = 2  # failed edits of an idea after which its remaining runs only set parameters


class ExperimentStep(BaseModel):
    """The coding model's reply for one attempt."""

    thought: str = Field("", max_length=4000, description="reasoning about the results so far")
    action: Literal["run", "done"] = Field(
        description="run: apply the edits and run; done: experiments finished"
    )
    label: str = Field(
        "", max_length=200, description="a few words (at most 60 characters) naming what this run changes"
    )
    description: str = Field(
        "", max_length=2000, description="what this run changes and tests, for the notes"
    )
    edits: str = Field("", max_length=30000, description="SEARCH/REPLACE blocks")


class RunStep(ExperimentStep):
    """The reply for a run: edits, settings of the template's declared parameters, or both."""

    params: list[ParamSetting] = Field([], max_length=100)


class FigureDescription(BaseModel):
    file: str = Field(max_length=200)
    description: str = Field(max_length=2000)


class FigureDescriptions(BaseModel):
    """The writing model's reply to the figure-notes step."""

    figures: list[FigureDescription] = Field(max_length=MAX_IMAGES)


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
        self.spec = load_spec(self.idea_dir)

    # -- runs ---------------------------------------------------------------------------------------------

    def ensure_baseline(self) -> dict[str, Any]:
        """run_0 with the unmodified code; run once, reused after. Its notes and snapshot are made once."""
        if not folder.is_complete(self.idea_dir, 0):
            self._set_aside_leftover(0, 1)
            outcome = self._execute(0, 1)
            if outcome.status != "ok":
                raise ExperimentFailed(
                    f"the baseline run failed ({outcome.status}): {outcome.message}",
                    hint=f"see {self.idea_dir.name}/run_0.failed-*/attempt.json and `aisci template check`",
                )
        if not snapshot.code_dir(self.idea_dir, 0).exists() and self._code_untouched():
            snapshot.save(self.idea_dir, 0)
        if 0 not in notes.read_notes(self.idea_dir).runs:
            notes.write_run(self.idea_dir, 0, notes.BASELINE_LABEL, BASELINE_NOTE)
        return folder.results(self.idea_dir, 0)

    def attempt(self, run: int, attempt: int) -> Attempt:
        """Plan, edit or set parameters, and execute one attempt at `run`. Failures, an unusable reply among
        them, are recorded, set aside and returned."""
        self._set_aside_leftover(run, attempt)
        (self.idea_dir / PARAMS_FILE).unlink(missing_ok=True)
        edits = self.edits_offered()
        done = any(r > 0 for r in folder.completed_runs(self.idea_dir))
        schema = step_schema(RunStep.model_json_schema(), self.spec, edits=edits, done=done)
        try:
            reply = self.gateway.complete_json("coding", self._run_messages(run, edits, done), schema)
            step = RunStep.model_validate(reply)
        except (LLMResponseError, ValidationError) as exc:
            if isinstance(exc, LLMResponseError):
                return self._failed(run, attempt, "bad_reply", exc.message, exc.raw)
            return self._failed(run, attempt, "bad_reply", str(exc))
        if step.action == "done":
            if done:
                return Attempt(run=run, attempt=attempt, status="done", message=step.thought)
            return self._failed(run, attempt, "bad_reply", 'action "done" before any run succeeded')
        settings = settings_of(step.params)
        if problems := self.spec.parameter_problems(settings):
            message = "The parameter settings are not allowed: " + "; ".join(problems) + "."
            return self._failed(run, attempt, "bad_params", message)
        if (step.edits.strip() or not settings) and (edit_error := self._apply(step.edits)):
            return self._failed(run, attempt, "edit_error", edit_error)
        try:
            if settings:
                write_json(self.idea_dir / PARAMS_FILE, settings)
            outcome = self._execute(run, attempt, with_params=bool(settings))
            if outcome.status == "ok":
                snapshot.save(self.idea_dir, run)
                if settings:
                    shutil.copy(self.idea_dir / PARAMS_FILE, folder.run_dir(self.idea_dir, run))
                label, description = _run_words(step, settings)
                notes.write_run(self.idea_dir, run, label, description)
                # run_i.py last: it marks the run complete
                shutil.copyfile(self.idea_dir / "experiment.py", self.idea_dir / f"run_{run}.py")
        finally:
            (self.idea_dir / PARAMS_FILE).unlink(missing_ok=True)
        return outcome

    def edits_offered(self) -> bool:
        """False where the run may only set parameters: the template declares some, and the coding model is
        weak (the embedded one, or one named in `llm.weak_models`) or its edits failed repeatedly."""
        if not self.spec.parameters:
            return True
        return not self.weak() and folder.failure_count(self.idea_dir, EDIT_FAILURES) < EDIT_FALLBACK

    def weak(self) -> bool:
        return self.settings.weak("coding")

    def _failed(self, run: int, attempt: int, status: str, message: str, reply: str = "") -> Attempt:
        record = Attempt.model_validate(
            {"run": run, "attempt": attempt, "status": status, "message": message, "reply": reply}
        )
        folder.set_aside(self.idea_dir, run, record)
        return record

    def _code_untouched(self) -> bool:
        """Nothing but the baseline has run yet, so the code is still the template's."""
        return not any(
            p.name.startswith("run_") and p.name.split(".")[0] != "run_0" for p in self.idea_dir.iterdir()
        )

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
        if not blocks and self.spec.parameters:
            return "The reply had no SEARCH/REPLACE blocks and set no parameters; a run must change one."
        if not blocks:
            return "The reply had no SEARCH/REPLACE blocks; a run must change the code."
        result = apply_edits(self.idea_dir, blocks)
        return None if result.ok else result.feedback()

    def _execute(self, run: int, attempt: int, with_params: bool = False) -> Attempt:
        out = folder.run_dir(self.idea_dir, run)
        argv = ["python", "experiment.py", f"--out_dir=run_{run}"]
        result = self._sandbox(argv + ([f"--params={PARAMS_FILE}"] if with_params else []), out)
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

    def _run_messages(self, run: int, edits: bool, done: bool) -> list[dict[str, Any]]:
        template = _read_json(self.idea_dir / "prompt.json")
        code = folder.read_text(self.idea_dir / "experiment.py") if edits else None
        current = notes.read_notes(self.idea_dir).text
        budget = max(2000, 2 * self.gateway.context_window("coding") - len(code or "") - len(current))
        user = prompts.run_prompt(
            task=template.get("task_description", ""),
            idea=_read_json(self.idea_dir / "idea.json"),
            code=code,
            parameters=parameters_text(self.spec),
            baseline=_results_text(self.idea_dir, [0], budget),
            notes=current,
            run=run,
            max_runs=self.limits.max_runs,
            done=done,
        )
        failure = folder.last_failure(self.idea_dir, run)
        if failure is not None:
            user += prompts.RETRY.format(
                attempt=failure.attempt, run=run, failure=prompts.failure_text(failure)
            )
        system = "\n\n".join(filter(None, [template.get("system", ""), prompts.SYSTEM]))
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    # -- plots --------------------------------------------------------------------------------------------

    def plots(self) -> list[str]:
        """The model labels every completed run in plot.py, which runs in the sandbox; figures are checked."""
        runs = folder.completed_runs(self.idea_dir)
        feedback = ""
        for attempt in range(1, self.limits.max_attempts + 1):
            problem = self._plot_attempt(runs, feedback)
            if problem is None:
                figures = sorted(p.name for p in (self.idea_dir / FIGURES).glob("*.png"))
                self._note_figures(figures, runs)
                return figures
            feedback = f"\n\n## Attempt {attempt} failed\n{problem}\nFix it."
        raise ExperimentFailed(f"plot.py failed {self.limits.max_attempts} times; last problem: {problem}")

    def _plot_attempt(self, runs: list[int], feedback: str) -> str | None:
        current = notes.read_notes(self.idea_dir)
        labels = {f"run_{r}": current.runs[r].label if r in current.runs else f"Run {r}" for r in runs}
        plot_py = self.idea_dir / "plot.py"
        # a weak model cannot edit code: aisci writes the legend names itself where plot.py has a labels dict
        if self.weak() and (source := with_labels(folder.read_text(plot_py), labels)) is not None:
            plot_py.write_text(source, encoding="utf-8")
            return self._draw(runs)
        problem = self._model_plot_edits(labels, current, feedback)
        return problem or self._draw(runs)

    def _model_plot_edits(self, labels: dict[str, str], current: notes.Notes, feedback: str) -> str | None:
        listing = "\n".join(f"- {run}: {label}" for run, label in labels.items())
        user = prompts.PLOT_TASK.format(
            runs=listing,
            format_guide=prompts.FORMAT_GUIDE,
            code=folder.read_text(self.idea_dir / "plot.py"),
            notes=current.text,
        )
        try:
            step = self.gateway.complete_json(
                "coding", [{"role": "user", "content": user + feedback}], ExperimentStep
            )
        except LLMResponseError as exc:
            return f"Your reply could not be used: {exc.message}"
        if step.edits.strip() and (error := self._apply(step.edits)):
            return error
        return None

    def _draw(self, runs: list[int]) -> str | None:
        """Run plot.py in the sandbox once its labels name every run; None when the figures are fine."""
        labelled = plot_labels(folder.read_text(self.idea_dir / "plot.py"))
        missing = [f"run_{r}" for r in runs if f"run_{r}" not in labelled]
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

    def _note_figures(self, figures: list[str], runs: list[int]) -> None:
        """A description of every figure: from the image itself where the model accepts images, otherwise
        from plot.py and the data it drew; the notes say which."""
        shown = self._images(figures) if self.gateway.supports_images("writing") else {}
        if shown:
            messages = self._figure_messages_with_images(figures, shown)
        else:
            messages = self._figure_messages_from_data(figures, runs)
        try:
            reply = self.gateway.complete_json("writing", messages, FigureDescriptions)
            described = {Path(f.file).name: f.description for f in reply.figures}
        except LLMResponseError:
            described = {}
        notes.write_figures(
            self.idea_dir,
            [
                FigureNote(file=f"{FIGURES}/{name}", description=described.get(name, ""), seen=name in shown)
                for name in figures
            ],
        )

    def _images(self, figures: list[str]) -> dict[str, str]:
        """name -> data URL, for each figure small enough to send."""
        urls = {}
        for name in figures[:MAX_IMAGES]:
            try:
                data = read_output_file(self.idea_dir / FIGURES, name, MAX_IMAGE_BYTES)
            except FinalInfoError:
                continue
            urls[name] = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        return urls

    def _figure_messages_with_images(self, figures: list[str], shown: dict[str, str]) -> list[dict[str, Any]]:
        task = prompts.FIGURES_SEEN.format(
            figures=", ".join(figures), notes=notes.read_notes(self.idea_dir).text
        )
        parts: list[dict[str, Any]] = [{"type": "text", "text": task}]
        for name, url in shown.items():
            parts.append({"type": "text", "text": f"Figure file: {FIGURES}/{name}"})
            parts.append({"type": "image_url", "image_url": {"url": url}})
        return [{"role": "user", "content": parts}]

    def _figure_messages_from_data(self, figures: list[str], runs: list[int]) -> list[dict[str, Any]]:
        plot_source = folder.read_text(self.idea_dir / "plot.py")
        budget = max(2000, 2 * self.gateway.context_window("writing") - len(plot_source))
        user = prompts.FIGURES_FROM_DATA.format(
            figures=", ".join(figures),
            code=plot_source,
            results=_results_text(self.idea_dir, runs, budget),
            notes=notes.read_notes(self.idea_dir).text,
        )
        return [{"role": "user", "content": user}]


def _run_words(step: RunStep, settings: dict[str, Any]) -> tuple[str, str]:
    """The run's label and description for the notes: a parameter run is named by what it set."""
    if not settings:
        return step.label, step.description
    changed = settings_label(settings)
    label = f"{step.label.strip()}: {changed}" if step.label.strip() else changed
    return label, step.description.strip() or f"The template's code with {changed}."


def _results_text(idea_dir: Path, runs: list[int], budget: int) -> str:
    """Each run's final_info.json, compact, cut to `budget` characters: at about three characters a token,
    two characters per token of the window leave a third of it for the rest of the prompt."""
    text = "\n".join(
        f"run_{r}: {json.dumps(folder.results(idea_dir, r), separators=(',', ':'))}" for r in runs
    )
    if len(text) <= budget:
        return text
    return text[:budget] + "\n(cut here; the notes' measured lines summarise every run)"


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


def with_labels(source: str, labels: dict[str, str]) -> str | None:
    """plot.py's source with its top-level `labels = {...}` set to `labels`; None when it has no such dict."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "labels" for t in node.targets)
            and isinstance(node.value, ast.Dict)
            and node.end_lineno is not None
        ):
            lines = source.splitlines(keepends=True)
            entries = "".join(f"    {json.dumps(k)}: {json.dumps(v)},\n" for k, v in labels.items())
            new = f"labels = {{\n{entries}}}\n"
            return "".join(lines[: node.lineno - 1]) + new + "".join(lines[node.end_lineno :])
    return None


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


def _free_name(parent: Path, name: str) -> Path:
    n = 1
    while (parent / f"{name}.old-{n}").exists():
        n += 1
    return parent / f"{name}.old-{n}"
