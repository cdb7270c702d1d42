"""The idea's results, read from `run_i/final_info.json`, and the LaTeX tables made from them.

Every number a paper reports comes from here: the model sees these values as facts and the tables are
generated with pylatex, so no figure in a table is ever typed by the model. Tables are laid out to fit the
text width at full size: the metrics that matter in the main text, every other metric in the appendix, and
columns split across tables rather than shrunk.
"""

import json
import math
import re
from pathlib import Path

from pydantic import BaseModel

from aisci.experiment.notes import is_timing
from aisci.numbers import change, fmt_mean, with_stderr
from aisci.templates import UNREACHED_KEY, TemplateSpec

SMOKE_KEY = "smoke"  # set in a group of final_info.json by a template's quick CPU check
_RUN_DIR = re.compile(r"^run_(\d+)$")
MAIN_METRICS_UNDECLARED = 4  # a template that names no primary metric: the first few non-timing ones
NOT_REACHED = "not reached"
# Names that say which way is better, for templates that declare nothing (AI Scientist v1).
LOWER_IS_BETTER = ("loss", "kl", "error", "err", "perplexity", "ppl", "mse", "mae", "nll", "fid", "bpc")
HIGHER_IS_BETTER = ("acc", "accuracy", "score", "reward", "bleu", "f1", "auc", "precision", "recall")


class Run(BaseModel):
    """One successful run: `means[group][metric]` and, where the template reports them, stderrs."""

    index: int
    label: str
    means: dict[str, dict[str, float]]
    stderrs: dict[str, dict[str, float]] = {}
    unreached: dict[str, list[str]] = {}  # group -> metrics this run did not reach (or did not measure)
    smoke: bool = False
    seeds: int | None = None  # how many seeds each mean is over, when the run's configuration says

    @property
    def name(self) -> str:
        return "Baseline" if self.index == 0 else f"Run {self.index}"


class Results(BaseModel):
    runs: list[Run]
    skipped: dict[str, str] = {}  # run folder -> why it is not in the paper
    directions: dict[str, int] = {}  # metric -> -1 lower / +1 higher is better, declared by the template
    primary: list[str] = []  # the template's primary metrics
    timing: list[str] = []  # wall-clock metrics: never a finding
    labels: dict[str, str] = {}  # metric -> short column name
    descriptions: dict[str, str] = {}  # metric -> one line of meaning
    picked: list[str] = []  # metrics the writer added to the main table (aisci.writeup.main_metrics)

    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(g for run in self.runs for g in [*run.means, *run.unreached]))

    @property
    def smoke(self) -> bool:
        return any(run.smoke for run in self.runs)

    def metrics(self, group: str | None = None) -> list[str]:
        groups = [group] if group else self.groups
        return list(
            dict.fromkeys(
                m
                for run in self.runs
                for g in groups
                for m in [*run.means.get(g, {}), *run.unreached.get(g, [])]
            )
        )

    def direction(self, metric: str) -> int:
        return self.directions.get(metric, 0)

    def label(self, metric: str) -> str:
        return self.labels.get(metric) or metric

    def main_metrics(self) -> list[str]:
        """What the main text's table shows: the declared primary metrics (else the first few others), then
        the ones the writer picked."""
        present = self.metrics()
        first = [m for m in self.primary if m in present] or [m for m in present if m not in self.timing][
            :MAIN_METRICS_UNDECLARED
        ]
        return list(dict.fromkeys([*first, *(m for m in self.picked if m in present)]))

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
    """-1 when the name says lower is better, +1 when it says higher is better, 0 otherwise."""
    words = set(re.split(r"[^a-z0-9]+", metric.lower()))
    if words & set(LOWER_IS_BETTER) or is_timing(TemplateSpec(), metric):
        return -1
    if words & set(HIGHER_IS_BETTER):
        return 1
    return 0


def load_results(
    idea_dir: Path,
    labels: dict[int, str] | None = None,
    spec: TemplateSpec | None = None,
    seeds: dict[int, int] | None = None,
) -> Results:
    """The baseline and every run whose final_info.json holds usable numbers; the rest listed as skipped.

    `labels` names the runs (from the notes); `spec` declares the metrics. A template that declares no
    metric (AI Scientist v1) gets directions and timing read from the metric names."""
    labels, spec, seeds = labels or {}, spec or TemplateSpec(), seeds or {}
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
            run = _parse_run(index, json.loads(path.read_text()), labels, seeds.get(index))
        except (ValueError, TypeError, AttributeError) as exc:
            skipped[folder.name] = f"final_info.json is malformed: {exc}"
            continue
        runs.append(run)
    results = Results(runs=runs, skipped=skipped)
    metrics = results.metrics()
    if spec.metrics:
        directions = {m: {"lower": -1, "higher": 1}.get(spec.metric(m).direction or "", 0) for m in metrics}
    else:
        directions = {m: metric_direction(m) for m in metrics}
    timing = [m for m in metrics if is_timing(spec, m)]
    return results.model_copy(
        update={
            "directions": {m: d for m, d in directions.items() if d},
            "primary": [m for m, s in spec.metrics.items() if s.primary],
            "timing": timing,
            "labels": {m: s.label for m, s in spec.metrics.items() if s.label},
            "descriptions": {m: s.description for m, s in spec.metrics.items() if s.description},
        }
    )


def _parse_run(index: int, info: dict, labels: dict[int, str], seeds: int | None) -> Run:
    means: dict[str, dict[str, float]] = {}
    stderrs: dict[str, dict[str, float]] = {}
    unreached: dict[str, list[str]] = {}
    smoke = False
    for group, body in info.items():
        smoke |= bool(body.get(SMOKE_KEY))
        means[group] = {k: float(v) for k, v in body["means"].items() if _finite(v)}
        stderrs[group] = {k: float(v) for k, v in (body.get("stderrs") or {}).items() if _finite(v)}
        missing = [str(m) for m in body.get(UNREACHED_KEY) or [] if m not in means[group]]
        if missing:
            unreached[group] = missing
    if not any(means.values()):
        raise ValueError("no numeric means")
    default = "baseline" if index == 0 else f"run {index}"
    return Run(
        index=index,
        label=labels.get(index) or default,
        means=means,
        stderrs=stderrs,
        unreached=unreached,
        smoke=smoke,
        seeds=seeds,
    )


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _latex_number(text: str) -> str:
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}\\times10^{{{int(exponent)}}}"
    return text


def facts(results: Results, metrics: list[str] | None = None) -> str:
    """The results as plain lines the model writes from, with changes against the baseline worked out.

    `metrics` limits the lines to those metrics (the main ones when the prompt must stay small)."""
    lines = [f"{run.name}: {run.label}" + (" [SMOKE TEST]" if run.smoke else "") for run in results.runs]
    series = results.series()
    for group in results.groups:
        for metric in results.metrics(group):
            if metrics is not None and metric not in metrics:
                continue
            by_run = series.get((group, metric), {})
            direction = {-1: "lower is better", 1: "higher is better"}.get(results.direction(metric), "")
            if metric in results.timing:
                direction = "wall-clock time, not a finding"
            cells = []
            for run in results.runs:
                if metric in run.unreached.get(group, []):
                    cells.append(f"{run.name} {NOT_REACHED}")
                elif run.index in by_run:
                    err = run.stderrs.get(group, {}).get(metric)
                    cells.append(f"{run.name} {with_stderr(by_run[run.index], err)}")
            meaning = f" [{results.descriptions[metric]}]" if metric in results.descriptions else ""
            lines.append(
                f"{group} / {metric}{meaning}"
                + (f" ({direction})" if direction else "")
                + ": "
                + "; ".join(cells)
            )
            base = by_run.get(0)
            base_err = results.runs[0].stderrs.get(group, {}).get(metric) if results.runs else None
            for index, value in by_run.items():
                if index and base is not None:
                    lines.append(f"  Run {index} vs Baseline: {change(value, base, base_err)}")
    return "\n".join(lines)


# -----------------------------------------------------------------------------
# tables

PT_PER_CHAR = 5.0  # Computer Modern at 10 pt: digits are 5 pt wide
COLUMN_GAP_PT = 12.0
TEXT_WIDTH_PT = 345.0  # article, 10 pt, one column: the fit is checked again in the build's log
CELL_EXAMPLE = "0.0000 ± 0.0000"  # a typical cell, for the appendix's run columns
APPENDIX_NAME_WIDTH = 0.36  # of the line, for the metric names of the appendix tables


class TableLayout(BaseModel):
    """How many value columns a table may have: estimated from the text width, lowered when a build still
    finds one of our tables wider than the text."""

    main_columns: int = 0  # 0: the estimate
    appendix_columns: int = 0

    def narrower(self, results: Results, overflow_pt: float) -> "TableLayout":
        """Fewer columns, in proportion to how far the widest of our tables ran past the text."""
        main, appendix = self.columns(results)

        def fewer(n: int) -> int:
            return max(1, min(n - 1, int(n * TEXT_WIDTH_PT / (TEXT_WIDTH_PT + overflow_pt))))

        return TableLayout(main_columns=fewer(main), appendix_columns=fewer(appendix))

    def columns(self, results: Results) -> tuple[int, int]:
        """(metric columns of a main table, run columns of an appendix table)."""
        cells = [_cell_chars(results, m) for m in results.main_metrics()]
        cell = max(cells or [len(CELL_EXAMPLE)]) * PT_PER_CHAR + COLUMN_GAP_PT
        first = max((len(r.name) for r in results.runs), default=8) * PT_PER_CHAR + COLUMN_GAP_PT
        if len(results.groups) > 1:
            first += max(map(len, results.groups)) * PT_PER_CHAR + COLUMN_GAP_PT
        main = max(1, int((TEXT_WIDTH_PT - first) // cell))
        run_cell = len(CELL_EXAMPLE) * PT_PER_CHAR + COLUMN_GAP_PT
        appendix = max(1, int((TEXT_WIDTH_PT * (1 - APPENDIX_NAME_WIDTH) - COLUMN_GAP_PT) // run_cell))
        return (self.main_columns or main, self.appendix_columns or appendix)


def _cell_chars(results: Results, metric: str) -> int:
    """The widest a metric's column gets: its header or its longest `mean ± stderr`."""
    widest = len(results.label(metric))
    for run in results.runs:
        for group, means in run.means.items():
            if metric in means:
                shown, err = fmt_mean(means[metric], run.stderrs.get(group, {}).get(metric))
                widest = max(widest, len(shown) + (len(err) + 3 if err else 0))
    return widest


def _cell(results: Results, run: Run, group: str, metric: str, best: int | None) -> str:
    from pylatex import NoEscape

    if metric in run.unreached.get(group, []):
        return NoEscape(f"\\emph{{{NOT_REACHED}}}")
    mean = run.means.get(group, {}).get(metric)
    if mean is None:
        return "--"
    shown, err = fmt_mean(mean, run.stderrs.get(group, {}).get(metric))
    text = _latex_number(shown)
    if best == run.index:
        text = f"\\mathbf{{{text}}}"
    if err is not None:
        text += f" \\pm {_latex_number(err)}"
    return NoEscape(f"${text}$")


def _best(results: Results, group: str, metric: str) -> int | None:
    values = {r.index: r.means[group][metric] for r in results.runs if metric in r.means.get(group, {})}
    direction = results.direction(metric)
    if not direction or metric in results.timing or len(set(values.values())) < 2:
        return None
    return (min if direction < 0 else max)(values, key=values.get)


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def _what_cells_hold(results: Results, runs: list[Run], groups: list[str]) -> str:
    with_err = [r for r in runs if any(r.stderrs.get(g) for g in groups)]
    if not with_err:
        return "Each cell is a single run's value"
    seeds = {r.seeds for r in with_err if r.seeds}
    over = f" over {seeds.pop()} seeds" if len(seeds) == 1 else " over seeds"
    text = f"Cells give the mean $\\pm$ standard error{over}"
    if len(with_err) < len(runs):
        text += " (a value without $\\pm$ comes from a single run)"
    return text


def _legend(results: Results) -> str:
    from pylatex.utils import escape_latex

    text = "; ".join(f"{r.name}: {escape_latex(r.label)}" for r in results.runs if r.index)
    return f" Runs: {text}." if text else ""


def _direction_note(results: Results, metrics: list[str]) -> str:
    from pylatex.utils import escape_latex

    ranked = [m for m in metrics if m not in results.timing]  # times are reported, never ranked
    lower = [escape_latex(results.label(m)) for m in ranked if results.direction(m) < 0]
    higher = [escape_latex(results.label(m)) for m in ranked if results.direction(m) > 0]
    parts = []
    if lower:
        parts.append(f"lower is better for {', '.join(lower)}")
    if higher:
        parts.append(f"higher is better for {', '.join(higher)}")
    text = "; ".join(parts)
    return f" {text[0].upper()}{text[1:]}, best in bold." if parts else ""


def _header(name: str) -> str:
    """A column or row name that may break after its underscores rather than run off the page."""
    from pylatex import NoEscape
    from pylatex.utils import escape_latex

    return NoEscape(escape_latex(name).replace(r"\_", r"\_\allowbreak{}"))


def main_tables(results: Results, layout: TableLayout) -> list[tuple[str, str]]:
    """(label, LaTeX) of the main text's tables: the main metrics as columns and each group's runs as rows,
    the metrics split across several tables when they do not fit the text width."""
    from pylatex import MultiRow, NoEscape, Table, Tabular
    from pylatex.utils import escape_latex

    groups = results.groups
    many_groups = len(groups) > 1
    width, _ = layout.columns(results)
    tables = []
    for number, metrics in enumerate(_chunks(results.main_metrics(), width)):
        tabular = Tabular(("l" if many_groups else "") + "l" + "r" * len(metrics), booktabs=True)
        tabular.add_row(
            [*(["Dataset"] if many_groups else []), "Run", *(_header(results.label(m)) for m in metrics)]
        )
        for group in groups:
            tabular.add_hline()
            runs = [r for r in results.runs if group in r.means or group in r.unreached]
            best = {m: _best(results, group, m) for m in metrics}
            for i, run in enumerate(runs):
                name = []
                if many_groups:
                    name = [MultiRow(len(runs), data=NoEscape(escape_latex(group))) if i == 0 else ""]
                tabular.add_row([*name, run.name, *(_cell(results, run, group, m, best[m]) for m in metrics)])
        label = f"tab:results-{number + 1}"
        caption = "Main results. " + _what_cells_hold(results, results.runs, groups) + "."
        caption += _direction_note(results, metrics) + _legend(results)
        if results.smoke:
            caption += " Smoke-test results (a short CPU check), not full experiments."
        tables.append((label, _float(Table(position="t"), tabular, caption, label)))
    return tables


def appendix_tables(results: Results, layout: TableLayout) -> list[tuple[str, str]]:
    """(label, LaTeX) of every metric the main text leaves out: one long table per group, metrics as rows
    and runs as columns, which may break across pages."""
    from pylatex import LongTable, NoEscape
    from pylatex.utils import escape_latex

    shown = set(results.main_metrics())
    _, width = layout.columns(results)
    tables = []
    for group in results.groups:
        metrics = [m for m in results.metrics(group) if m not in shown]
        if not metrics:
            continue
        for part, runs in enumerate(_chunks(results.runs, width)):
            label = f"tab:appendix-{len(tables) + 1}"
            table = LongTable(f"p{{{APPENDIX_NAME_WIDTH}\\linewidth}}" + "r" * len(runs))
            caption = f"All other metrics on {escape_latex(group)}"
            caption += f" (part {part + 1})" if len(results.runs) > width else ""
            caption += ". " + _what_cells_hold(results, runs, [group]) + "."
            caption += _direction_note(results, metrics) + _legend(results)
            table.append(NoEscape(f"\\caption{{{caption}}}\\label{{{label}}}\\\\\n\\toprule"))
            table.add_row(["Metric", *(r.name for r in runs)])
            table.append(NoEscape("\\midrule"))
            table.end_table_header()
            for metric in metrics:
                best = _best(results, group, metric)
                table.add_row(
                    [_header(results.label(metric)), *(_cell(results, r, group, metric, best) for r in runs)]
                )
            table.append(NoEscape("\\bottomrule"))
            tables.append((label, table.dumps()))
    return tables


def _float(table, tabular, caption: str, label: str) -> str:
    from pylatex import NoEscape

    table.append(NoEscape(r"\centering"))
    table.append(tabular)
    table.add_caption(NoEscape(caption))
    table.append(NoEscape(f"\\label{{{label}}}"))
    return table.dumps()
