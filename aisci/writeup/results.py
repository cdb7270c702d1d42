"""The idea's results, read from `run_i/final_info.json`, and the LaTeX tables made from them.

Every number a paper reports comes from here: the model sees these values as facts and the tables are
generated with pylatex, so no figure in a table is ever typed by the model.
"""

import json
import math
import re
from pathlib import Path

from pydantic import BaseModel

SMOKE_KEY = "smoke"  # set in a group of final_info.json by a template's quick CPU check
_RUN_DIR = re.compile(r"^run_(\d+)$")
_NOTES_RUN = re.compile(r"^\W*run\s+(\d+)\s*[:\-\u2013\u2014]\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
LOWER_IS_BETTER = (
    "loss",
    "kl",
    "error",
    "err",
    "time",
    "perplexity",
    "ppl",
    "mse",
    "mae",
    "nll",
    "fid",
    "bpc",
)
HIGHER_IS_BETTER = (
    "acc",
    "accuracy",
    "score",
    "reward",
    "bleu",
    "f1",
    "auc",
    "precision",
    "recall",
    "return",
)


class Run(BaseModel):
    """One successful run: `means[group][metric]` and, where the template reports them, stderrs."""

    index: int
    label: str
    means: dict[str, dict[str, float]]
    stderrs: dict[str, dict[str, float]] = {}
    smoke: bool = False

    @property
    def name(self) -> str:
        return "Baseline" if self.index == 0 else f"Run {self.index}"


class Results(BaseModel):
    runs: list[Run]
    skipped: dict[str, str] = {}  # run folder -> why it is not in the paper

    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(g for run in self.runs for g in run.means))

    @property
    def smoke(self) -> bool:
        return any(run.smoke for run in self.runs)

    def metrics(self, group: str) -> list[str]:
        return list(dict.fromkeys(m for run in self.runs for m in run.means.get(group, {})))

    def values(self) -> list[float]:
        """Every mean and stderr: the numbers prose may quote directly."""
        return [
            v
            for run in self.runs
            for table in (run.means, run.stderrs)
            for g in table.values()
            for v in g.values()
        ]

    def series(self) -> dict[tuple[str, str], dict[int, float]]:
        """(group, metric) -> run index -> mean: what comparisons are checked against."""
        out: dict[tuple[str, str], dict[int, float]] = {}
        for run in self.runs:
            for group, metrics in run.means.items():
                for metric, value in metrics.items():
                    out.setdefault((group, metric), {})[run.index] = value
        return out


def metric_direction(metric: str) -> int:
    """-1 when lower is better, +1 when higher is better, 0 when the name does not say."""
    words = set(re.split(r"[^a-z0-9]+", metric.lower()))
    if words & set(LOWER_IS_BETTER):
        return -1
    if words & set(HIGHER_IS_BETTER):
        return 1
    return 0


def run_labels(notes: str) -> dict[int, str]:
    """`Run 2: cosine schedule` lines of notes.txt, as run index -> description."""
    return {int(m.group(1)): m.group(2) for m in _NOTES_RUN.finditer(notes)}


def load_results(idea_dir: Path, notes: str = "") -> Results:
    """The baseline and every run whose final_info.json holds usable numbers; the rest listed as skipped."""
    labels = run_labels(notes)
    runs, skipped = [], {}
    folders = sorted(
        (int(m.group(1)), p) for p in idea_dir.iterdir() if p.is_dir() and (m := _RUN_DIR.match(p.name))
    )
    for index, folder in folders:
        path = folder / "final_info.json"
        if not path.is_file():
            skipped[folder.name] = "no final_info.json (the run failed or did not finish)"
            continue
        try:
            runs.append(_parse_run(index, json.loads(path.read_text()), labels))
        except (ValueError, TypeError, AttributeError) as exc:
            skipped[folder.name] = f"final_info.json is malformed: {exc}"
    return Results(runs=runs, skipped=skipped)


def _parse_run(index: int, info: dict, labels: dict[int, str]) -> Run:
    means: dict[str, dict[str, float]] = {}
    stderrs: dict[str, dict[str, float]] = {}
    smoke = False
    for group, body in info.items():
        smoke |= bool(body.get(SMOKE_KEY))
        means[group] = {k: float(v) for k, v in body["means"].items() if _finite(v)}
        stderrs[group] = {k: float(v) for k, v in (body.get("stderrs") or {}).items() if _finite(v)}
    if not any(means.values()):
        raise ValueError("no numeric means")
    default = "baseline" if index == 0 else f"run {index}"
    return Run(index=index, label=labels.get(index, default), means=means, stderrs=stderrs, smoke=smoke)


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def fmt(value: float) -> str:
    """The one number format of tables, facts and prose: four significant digits."""
    text = f"{value:.4g}"
    return f"{float(text):.6f}".rstrip("0").rstrip(".") if "e" in text and abs(value) >= 1e-3 else text


def _latex_number(value: float) -> str:
    text = fmt(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}\\times10^{{{int(exponent)}}}"
    return text


def facts(results: Results) -> str:
    """The results as plain lines the model writes from, with changes against the baseline worked out."""
    lines = [f"{run.name}: {run.label}" + (" [SMOKE TEST]" if run.smoke else "") for run in results.runs]
    for (group, metric), by_run in results.series().items():
        direction = {-1: "lower is better", 1: "higher is better"}.get(metric_direction(metric), "")
        cells = []
        for run in results.runs:
            if run.index in by_run:
                err = run.stderrs.get(group, {}).get(metric)
                cells.append(
                    f"{run.name} {fmt(by_run[run.index])}" + (f" ± {fmt(err)}" if err is not None else "")
                )
        lines.append(
            f"{group} / {metric}" + (f" ({direction})" if direction else "") + ": " + "; ".join(cells)
        )
        base = by_run.get(0)
        for index, value in by_run.items():
            if index and base:
                change = (value - base) / abs(base) * 100
                word = "lower" if value < base else "higher" if value > base else "equal"
                lines.append(f"  Run {index} vs Baseline: {word}, {change:+.1f}%")
    return "\n".join(lines)


def results_tables(results: Results, scale_to_width: bool = False) -> str:
    """One booktabs table per group (runs as rows, metrics as columns); the best mean is bold where the
    metric's name says which way is better. `scale_to_width` shrinks a table that ran off the page."""
    from pylatex import NoEscape, Table, Tabular
    from pylatex.utils import escape_latex

    out = []
    for number, group in enumerate(results.groups):
        metrics = results.metrics(group)
        best = {}
        for metric in metrics:
            values = {
                r.index: r.means[group][metric] for r in results.runs if metric in r.means.get(group, {})
            }
            if (direction := metric_direction(metric)) and len(values) > 1:
                best[metric] = (min if direction < 0 else max)(values, key=values.get)
        tabular = Tabular("l" + "r" * len(metrics), booktabs=True)
        tabular.add_row(["Run", *(NoEscape(escape_latex(m)) for m in metrics)])
        tabular.add_hline()
        for run in results.runs:
            cells = []
            for metric in metrics:
                mean = run.means.get(group, {}).get(metric)
                if mean is None:
                    cells.append("--")
                    continue
                text = _latex_number(mean)
                if best.get(metric) == run.index:
                    text = f"\\mathbf{{{text}}}"
                if (err := run.stderrs.get(group, {}).get(metric)) is not None:
                    text += f" \\pm {_latex_number(err)}"
                cells.append(NoEscape(f"${text}$"))
            tabular.add_row([run.name, *cells])
        table = Table(position="t")
        table.append(NoEscape(r"\centering"))
        if scale_to_width:
            table.append(NoEscape(r"\resizebox{\linewidth}{!}{%"))
        table.append(tabular)
        if scale_to_width:
            table.append(NoEscape("}"))
        caption = f"Results on {escape_latex(group)}: mean"
        caption += " $\\pm$ standard error" if any(r.stderrs.get(group) for r in results.runs) else ""
        caption += ". " + "; ".join(f"{r.name}: {escape_latex(r.label)}" for r in results.runs) + "."
        if results.smoke:
            caption += " Smoke-test results (a short CPU check), not full experiments."
        table.add_caption(NoEscape(caption))
        table.append(NoEscape(f"\\label{{{table_label(number)}}}"))
        out.append(table.dumps())
    return "\n".join(out)


def table_label(number: int) -> str:
    return f"tab:results-{number + 1}"
