"""The experiment runs: the coding model edits the code or sets parameters, the sandbox runs it, the results
go back.

The loop itself lives in the Prefect flow (`flows/experiment.py`), one task per attempt; this module holds the
steps, and keeps every step's outcome in the idea folder so the flow can resume anywhere.
"""

import json
import shutil
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from aisci.errors import ExperimentFailed, FinalInfoError, LLMResponseError
from aisci.experiment import folder, notes, run_prompts, snapshot
from aisci.experiment.context import ExperimentContext, ExperimentStep
from aisci.experiment.folder import Attempt
from aisci.experiment.params import PARAMS_FILE, ParamSetting, settings_of, step_schema
from aisci.files import write_json
from aisci.templates import final_info_problems, parameters_text, settings_label

BASELINE_NOTE = "The template's code, unmodified."
EDIT_FAILURES = {"edit_error", "bad_reply"}
EDIT_FALLBACK = 2  # failed edits of an idea after which its remaining runs only set parameters


class RunStep(ExperimentStep):
    """The reply for a run: edits, settings of the template's declared parameters, or both."""

    params: list[ParamSetting] = Field([], max_length=100)


def ensure_baseline(ctx: ExperimentContext) -> dict[str, Any]:
    """run_0 with the unmodified code; run once, reused after. Its notes and snapshot are made once."""
    idea_dir = ctx.idea_dir
    if not folder.is_complete(idea_dir, 0):
        _set_aside_leftover(ctx, 0, 1)
        outcome = _execute(ctx, 0, 1)
        if outcome.status != "ok":
            raise ExperimentFailed(
                f"the baseline run failed ({outcome.status}): {outcome.message}",
                hint=f"see {idea_dir.name}/run_0.failed-*/attempt.json and `aisci template check`",
            )
    if not snapshot.code_dir(idea_dir, 0).exists() and _code_untouched(idea_dir):
        snapshot.save(idea_dir, 0)
    if 0 not in notes.read_notes(idea_dir).runs:
        notes.write_run(idea_dir, 0, notes.BASELINE_LABEL, BASELINE_NOTE)
    return folder.results(idea_dir, 0)


def attempt(ctx: ExperimentContext, run: int, attempt: int) -> Attempt:
    """Plan, edit or set parameters, and execute one attempt at `run`. Failures, an unusable reply among them,
    are recorded, set aside and returned."""
    idea_dir = ctx.idea_dir
    _set_aside_leftover(ctx, run, attempt)
    (idea_dir / PARAMS_FILE).unlink(missing_ok=True)
    edits = edits_offered(ctx)
    done = any(r > 0 for r in folder.completed_runs(idea_dir))
    schema = step_schema(RunStep.model_json_schema(), ctx.spec, edits=edits, done=done)
    try:
        reply = ctx.gateway.complete_json("coding", _messages(ctx, run, edits, done), schema)
        step = RunStep.model_validate(reply)
    except (LLMResponseError, ValidationError) as exc:
        if isinstance(exc, LLMResponseError):
            return _failed(ctx, run, attempt, "bad_reply", exc.message, exc.raw)
        return _failed(ctx, run, attempt, "bad_reply", str(exc))
    if step.action == "done":
        if done:
            return Attempt(run=run, attempt=attempt, status="done", message=step.thought)
        return _failed(ctx, run, attempt, "bad_reply", 'action "done" before any run succeeded')
    settings = settings_of(step.params)
    if problems := ctx.spec.parameter_problems(settings):
        message = "The parameter settings are not allowed: " + "; ".join(problems) + "."
        return _failed(ctx, run, attempt, "bad_params", message)
    if (step.edits.strip() or not settings) and (edit_error := ctx.apply(step.edits)):
        return _failed(ctx, run, attempt, "edit_error", edit_error)
    try:
        if settings:
            write_json(idea_dir / PARAMS_FILE, settings)
        outcome = _execute(ctx, run, attempt, with_params=bool(settings))
        if outcome.status == "ok":
            snapshot.save(idea_dir, run)
            if settings:
                shutil.copy(idea_dir / PARAMS_FILE, folder.run_dir(idea_dir, run))
            label, description = _run_words(step, settings)
            notes.write_run(idea_dir, run, label, description)
            # run_i.py last: it marks the run complete
            shutil.copyfile(idea_dir / "experiment.py", idea_dir / f"run_{run}.py")
    finally:
        (idea_dir / PARAMS_FILE).unlink(missing_ok=True)
    return outcome


def edits_offered(ctx: ExperimentContext) -> bool:
    """False where the run may only set parameters: the template declares some, and the coding model is weak
    or its edits failed repeatedly."""
    if not ctx.spec.parameters:
        return True
    return not ctx.weak() and folder.failure_count(ctx.idea_dir, EDIT_FAILURES) < EDIT_FALLBACK


def _failed(
    ctx: ExperimentContext, run: int, attempt: int, status: str, message: str, reply: str = ""
) -> Attempt:
    record = Attempt.model_validate(
        {"run": run, "attempt": attempt, "status": status, "message": message, "reply": reply}
    )
    folder.set_aside(ctx.idea_dir, run, record)
    return record


def _code_untouched(idea_dir: Path) -> bool:
    """Nothing but the baseline has run yet, so the code is still the template's."""
    return not any(p.name.startswith("run_") and p.name.split(".")[0] != "run_0" for p in idea_dir.iterdir())


def _set_aside_leftover(ctx: ExperimentContext, run: int, attempt: int) -> None:
    """Output of an attempt that died with its worker: kept, out of the new attempt's way."""
    if folder.run_dir(ctx.idea_dir, run).exists():
        leftover = Attempt(
            run=run, attempt=attempt, status="error", message="an interrupted attempt's output"
        )
        folder.set_aside(ctx.idea_dir, run, leftover)


def _execute(ctx: ExperimentContext, run: int, attempt: int, with_params: bool = False) -> Attempt:
    out = folder.run_dir(ctx.idea_dir, run)
    argv = ["python", "experiment.py", f"--out_dir=run_{run}"]
    result = ctx.sandbox(argv + ([f"--params={PARAMS_FILE}"] if with_params else []), out)
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
            problems = final_info_problems(folder.results(ctx.idea_dir, run))
        except FinalInfoError as exc:
            problems = [exc.message]
        if problems:
            record = record.model_copy(update={"status": "bad_results", "message": "; ".join(problems)})
    if record.status != "ok":
        folder.set_aside(ctx.idea_dir, run, record)
    else:
        write_json(out / folder.ATTEMPT_RECORD, record.model_dump())
    return record


def _messages(ctx: ExperimentContext, run: int, edits: bool, done: bool) -> list[dict[str, Any]]:
    """The idea folder read for the run prompt: what the template asks, the idea, the code, the notes."""
    idea_dir = ctx.idea_dir
    code = folder.read_text(idea_dir / "experiment.py") if edits else None
    current = notes.read_notes(idea_dir).text
    return run_prompts.run_messages(
        template=_read_json(idea_dir / "prompt.json"),
        idea=_read_json(idea_dir / "idea.json"),
        code=code,
        parameters=parameters_text(ctx.spec),
        baseline=ctx.results_text([0], "coding", beside=len(code or "") + len(current)),
        notes=current,
        run=run,
        max_runs=ctx.limits.max_runs,
        done=done,
        failure=folder.last_failure(idea_dir, run),
    )


def _run_words(step: RunStep, settings: dict[str, Any]) -> tuple[str, str]:
    """The run's label and description for the notes: a parameter run is named by what it set."""
    if not settings:
        return step.label, step.description
    changed = settings_label(settings)
    label = f"{step.label.strip()}: {changed}" if step.label.strip() else changed
    return label, step.description.strip() or f"The template's code with {changed}."


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}
