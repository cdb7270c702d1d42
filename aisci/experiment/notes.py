"""notes.txt, written and read only here: what each run tested, what it measured, what each figure shows.

    ## Run 1: cosine noise schedule
    The coding model's description of the run.

    Measured by aisci (run_1/final_info.json; mean ± stderr; change against run_0):
    - circle.eval_loss = 0.4312 ± 0.0021 (baseline 0.44 ± 0.0019; -0.0088, -2.0%)
    - circle.kl_divergence = 0.0031 (baseline 0.012; -0.0089)
    (2 of 4 metrics per group; every metric is in run_1/final_info.json)

    ## Figures
    - figures/train_loss.png (seen): what the figure shows, for the writer.
    - figures/samples.png (not seen; described from plot.py and the results): ...

The model gives each run's label and description through its reply and never edits this file; the measured
lines are computed here from final_info.json. Only the template's primary metrics are summarised (without a
declaration, the first few non-timing ones), so the notes stay short; tables read the full data. A change is
a percent only where one means something: never against a baseline near zero, or for values that can be
negative.
"""

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from aisci.experiment import folder
from aisci.files import write_atomic
from aisci.numbers import change, with_stderr
from aisci.templates import UNREACHED_KEY, TemplateSpec, load_spec

NOTES = "notes.txt"
FIGURES = "figures"
BASELINE_LABEL = "Baseline"
MAX_LABEL = 60
UNDECLARED_METRICS = 6  # metrics summarised per group when the template declares no primary ones
MEASURED = "Measured by aisci"
SEEN = "seen"
NOT_SEEN = "not seen; described from plot.py and the results"
NO_DESCRIPTION = "(no description)"  # written where the model gave none; read back as ""
TIMING_WORDS = re.compile(r"(^|_)(time|times|duration|seconds|latency|per_s|tokens_per_s|throughput)($|_)")

_HEADING = re.compile(r"^## (.*)$", re.M)
_RUN_HEADING = re.compile(r"^Run (\d+)\s*(?:[:\-—]\s*(.*))?$")
_RUN_LINE = re.compile(r"^Run (\d+):[ \t]*(\S.*)$", re.M)  # the older one-line form
_FIGURE_LINE = re.compile(r"^- (\S+?)(?: \((seen|not seen[^)]*)\))?: ?(.*)$")
_OLD_MEASURED = "Measured results:"


class RunNote(BaseModel):
    run: int
    label: str  # short: what the run changed ("cosine noise schedule"); "Baseline" for run 0
    description: str


class FigureNote(BaseModel):
    file: str  # relative to the idea folder, e.g. "figures/generated_images.png"
    description: str
    seen: bool  # True when the model was shown the image


class Notes(BaseModel):
    runs: dict[int, RunNote]
    figures: list[FigureNote]
    text: str  # the compact notes as the writer should read them


# -- writing ----------------------------------------------------------------------------------------------


def write_run(idea_dir: Path, run: int, label: str, description: str) -> None:
    """The run's section: the model's label and description, then the measured lines (run 0: its own)."""
    results = folder.results(idea_dir, run)
    baseline = results if run == 0 else folder.results(idea_dir, 0)
    label = BASELINE_LABEL if run == 0 else clean_label(label) or _short(description) or f"Run {run}"
    body = _clean_description(description) or NO_DESCRIPTION
    lines = measured_lines(baseline, results, load_spec(idea_dir), run)
    _upsert(idea_dir, f"Run {run}: {label}", f"{body}\n\n{lines}\n")


def write_figures(idea_dir: Path, figures: list[FigureNote]) -> None:
    lines = "".join(
        f"- {f.file} ({SEEN if f.seen else NOT_SEEN}): {_one_line(f.description) or NO_DESCRIPTION}\n"
        for f in figures
    )
    _upsert(idea_dir, "Figures", lines)


def clean_label(label: str) -> str:
    """One line of at most MAX_LABEL characters, cut at a word."""
    text = _one_line(label).strip(" .#")
    if len(text) <= MAX_LABEL:
        return text
    return text[: MAX_LABEL - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def measured_lines(baseline: dict[str, Any], results: dict[str, Any], spec: TemplateSpec, run: int) -> str:
    """The summarised metrics of each group as `- group.metric = mean ± stderr (baseline ...; change)`."""
    smoke = any(isinstance(e, dict) and e.get("smoke") is True for e in results.values())
    source = f"run_{run}/final_info.json"
    change = "; change against run_0" if run else ""
    lines = [f"{MEASURED} ({source}; mean ± stderr{change}{'; a smoke-size run' if smoke else ''}):"]
    shown, total = 0, 0
    for group, entry in results.items():
        means, unreached = entry.get("means", {}), list(entry.get(UNREACHED_KEY, []))
        names = summarised(spec, [*means, *[m for m in unreached if m not in means]])
        shown, total = max(shown, len(names)), max(total, len(means) + len(unreached))
        base = baseline.get(group, {}) if run else {}
        lines += [f"- {group}.{m}{_result(entry, base, m)}" for m in names]
    if shown < total:
        lines.append(f"({shown} of {total} metrics per group; every metric is in {source})")
    return "\n".join(lines)


def summarised(spec: TemplateSpec, names: list[str]) -> list[str]:
    """The template's primary metrics among `names`; without any, the first few non-timing ones."""
    primary = [m for m in names if spec.metric(m).primary]
    if primary:
        return primary
    return [m for m in names if not is_timing(spec, m)][:UNDECLARED_METRICS]


def is_timing(spec: TemplateSpec, metric: str) -> bool:
    """Declared by the template; read from the name only when it declares nothing about the metric."""
    if metric in spec.metrics:
        return spec.metrics[metric].timing
    return bool(TIMING_WORDS.search(metric.lower()))


def _result(entry: dict[str, Any], base: dict[str, Any], metric: str) -> str:
    value, ref = _value(entry, metric), _value(base, metric)
    if value is None:
        text = ": not reached"
        return text + (f" (baseline {with_stderr(*ref)})" if ref else "")
    text = f" = {with_stderr(*value)}"
    if not base:
        return text
    if ref is None:
        reached = metric in base.get(UNREACHED_KEY, [])
        return text + (" (baseline: not reached)" if reached else "")
    return text + f" (baseline {with_stderr(*ref)}; {change(value[0], *ref)})"


def _value(entry: dict[str, Any], metric: str) -> tuple[float, float | None] | None:
    mean = entry.get("means", {}).get(metric)
    if not _is_number(mean):
        return None
    stderr = (entry.get("stderrs") or {}).get(metric)
    return float(mean), float(stderr) if _is_number(stderr) else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _short(description: str) -> str:
    first = re.split(r"(?<=[.!?])\s", _one_line(description), maxsplit=1)[0]
    return clean_label(first)


def _clean_description(text: str) -> str:
    """The model's text, unable to open a section or pass for measured lines."""
    lines = []
    for line in str(text).strip().splitlines():
        if line.lstrip().startswith("#"):
            line = line.lstrip().lstrip("#").lstrip()
        if line.startswith((MEASURED, _OLD_MEASURED)):
            line = "(said by the model) " + line
        lines.append(line.rstrip())
    return "\n".join(lines).strip()


def _upsert(idea_dir: Path, heading: str, body: str) -> None:
    """Replace the section with the same key, or add it: runs in order, the figures last."""
    preamble, sections = _sections(_read(idea_dir))
    key = _key(heading)
    sections = [s for s in sections if _key(s[0]) != key]
    sections.append((heading, body))
    sections.sort(key=lambda s: _order(_key(s[0])))
    text = preamble + "".join(f"## {h}\n{b.rstrip()}\n\n" for h, b in sections)
    write_atomic(idea_dir / NOTES, text)


def _order(key: str) -> tuple[int, int]:
    if key == "figures":
        return (2, 0)
    if m := re.fullmatch(r"run (\d+)", key):
        return (1, int(m.group(1)))
    return (0, 0)  # a section of unknown kind stays before the runs, in its place


def _key(heading: str) -> str:
    if m := _RUN_HEADING.match(heading.strip()):
        return f"run {int(m.group(1))}"
    return heading.strip().lower()


def _sections(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The text before the first `## ` heading, and each (heading, body)."""
    marks = list(_HEADING.finditer(text))
    if not marks:
        return text, []
    sections = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        sections.append((mark.group(1).strip(), text[mark.end() + 1 : end]))
    return text[: marks[0].start()], sections


def _read(idea_dir: Path) -> str:
    try:
        return (idea_dir / NOTES).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


# -- reading ----------------------------------------------------------------------------------------------


def read_notes(idea_dir: Path) -> Notes:
    """The notes of an idea folder, from this format or the older ones (`## Run N` blocks without a label,
    `Run N: text` lines); every figure in figures/ is listed, noted or not. Never raises on odd content."""
    text = _read(idea_dir)
    _, sections = _sections(text)
    runs: dict[int, RunNote] = {}
    figures: list[FigureNote] = []
    for heading, body in sections:
        if m := _RUN_HEADING.match(heading):
            run = int(m.group(1))
            description = _description(body)
            label = _label(run, m.group(2) or "", description)
            runs[run] = RunNote(run=run, label=label, description=description)
        elif heading.lower() == "figures":
            figures += [f for line in body.splitlines() if (f := _figure(line))]
    if not runs:
        for m in _RUN_LINE.finditer(text):
            run, said = int(m.group(1)), m.group(2).strip()
            runs[run] = RunNote(run=run, label=_label(run, "", said), description=said)
    noted = {f.file for f in figures}
    figures += [
        FigureNote(file=f"{FIGURES}/{p.name}", description="", seen=False)
        for p in sorted((idea_dir / FIGURES).glob("*.png"))
        if f"{FIGURES}/{p.name}" not in noted
    ]
    return Notes(runs=dict(sorted(runs.items())), figures=figures, text=text.strip())


def _description(body: str) -> str:
    kept = []
    for line in body.splitlines():
        if line.startswith((MEASURED, _OLD_MEASURED)):
            break
        kept.append(line)
    text = "\n".join(kept).strip()
    return "" if text == NO_DESCRIPTION else text


def _label(run: int, given: str, description: str) -> str:
    if run == 0:
        return BASELINE_LABEL
    return clean_label(given) or _short(description) or f"Run {run}"


def _figure(line: str) -> FigureNote | None:
    m = _FIGURE_LINE.match(line.strip())
    if m is None:
        return None
    file = m.group(1)
    if "/" not in file:
        file = f"{FIGURES}/{file}"
    description = m.group(3).strip()
    return FigureNote(
        file=file, description="" if description == NO_DESCRIPTION else description, seen=m.group(2) == SEEN
    )
