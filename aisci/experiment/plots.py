"""The plots: plot.py names every completed run in its legend and runs in the sandbox; its figures are
checked, then described in the notes."""

import ast
import base64
import io
import json
from pathlib import Path

from pydantic import BaseModel, Field

from aisci.errors import ExperimentFailed, FinalInfoError, LLMResponseError
from aisci.experiment import folder, notes, plot_prompts
from aisci.experiment.context import ExperimentContext, ExperimentStep
from aisci.experiment.notes import FIGURES, FigureNote
from aisci.sandbox import read_output_file

MAX_PNG_BYTES = 32 << 20
MAX_IMAGE_BYTES = 5 << 20  # the smallest per-image limit among the hosted providers
MAX_IMAGES = 20


class FigureDescription(BaseModel):
    file: str = Field(max_length=200)
    description: str = Field(max_length=2000)


class FigureDescriptions(BaseModel):
    """The writing model's reply to the figure-notes step."""

    figures: list[FigureDescription] = Field(max_length=MAX_IMAGES)


def make_figures(ctx: ExperimentContext) -> list[str]:
    """The model labels every completed run in plot.py, which runs in the sandbox; figures are checked."""
    runs = folder.completed_runs(ctx.idea_dir)
    feedback = ""
    for attempt in range(1, ctx.limits.max_attempts + 1):
        problem = _plot_attempt(ctx, runs, feedback)
        if problem is None:
            figures = sorted(p.name for p in (ctx.idea_dir / FIGURES).glob("*.png"))
            _note_figures(ctx, figures, runs)
            return figures
        feedback = plot_prompts.retry_text(attempt, problem)
    raise ExperimentFailed(f"plot.py failed {ctx.limits.max_attempts} times; last problem: {problem}")


def _plot_attempt(ctx: ExperimentContext, runs: list[int], feedback: str) -> str | None:
    current = notes.read_notes(ctx.idea_dir)
    labels = {f"run_{r}": current.runs[r].label if r in current.runs else f"Run {r}" for r in runs}
    plot_py = ctx.idea_dir / "plot.py"
    # a weak model cannot edit code: aisci writes the legend names itself where plot.py has a labels dict
    if ctx.weak() and (source := with_labels(folder.read_text(plot_py), labels)) is not None:
        plot_py.write_text(source, encoding="utf-8")
        return _draw(ctx, runs)
    messages = plot_prompts.plot_messages(labels, folder.read_text(plot_py), current.text, feedback)
    try:
        step = ctx.gateway.complete_json("coding", messages, ExperimentStep)
    except LLMResponseError as exc:
        return f"Your reply could not be used: {exc.message}"
    if step.edits.strip() and (error := ctx.apply(step.edits)):
        return error
    return _draw(ctx, runs)


def _draw(ctx: ExperimentContext, runs: list[int]) -> str | None:
    """Run plot.py in the sandbox once its labels name every run; None when the figures are fine."""
    labelled = plot_labels(folder.read_text(ctx.idea_dir / "plot.py"))
    missing = [f"run_{r}" for r in runs if f"run_{r}" not in labelled]
    if missing:
        return f"plot.py's labels dict does not name {', '.join(missing)}."
    out = ctx.idea_dir / FIGURES
    if out.exists():
        out.rename(_free_name(ctx.idea_dir, FIGURES))
    result = ctx.sandbox(["python", "plot.py", f"--out_dir={FIGURES}"], out)
    if result.status != "ok":
        return f"plot.py failed ({result.status}): {result.message}\n```\n{result.stderr_tail[-3000:]}\n```"
    return check_figures(out)


def _note_figures(ctx: ExperimentContext, figures: list[str], runs: list[int]) -> None:
    """A description of every figure: from the image itself where the model accepts images, otherwise from
    plot.py and the data it drew; the notes say which."""
    shown = _images(ctx.idea_dir, figures) if ctx.gateway.supports_images("writing") else {}
    current = notes.read_notes(ctx.idea_dir).text
    if shown:
        messages = plot_prompts.figures_seen_messages(figures, shown, current)
    else:
        code = folder.read_text(ctx.idea_dir / "plot.py")
        results = ctx.results_text(runs, "writing", beside=len(code))
        messages = plot_prompts.figures_from_data_messages(figures, code, results, current)
    try:
        reply = ctx.gateway.complete_json("writing", messages, FigureDescriptions)
        described = {Path(f.file).name: f.description for f in reply.figures}
    except LLMResponseError:
        described = {}
    notes.write_figures(
        ctx.idea_dir,
        [
            FigureNote(file=f"{FIGURES}/{name}", description=described.get(name, ""), seen=name in shown)
            for name in figures
        ],
    )


def _images(idea_dir: Path, figures: list[str]) -> dict[str, str]:
    """name -> data URL, for each figure small enough to send."""
    urls = {}
    for name in figures[:MAX_IMAGES]:
        try:
            data = read_output_file(idea_dir / FIGURES, name, MAX_IMAGE_BYTES)
        except FinalInfoError:
            continue
        urls[name] = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return urls


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


def _free_name(parent: Path, name: str) -> Path:
    n = 1
    while (parent / f"{name}.old-{n}").exists():
        n += 1
    return parent / f"{name}.old-{n}"
