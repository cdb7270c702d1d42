"""notes.txt's measured lines and its reader: mean ± stderr, honest changes, only the metrics that matter,
and older notes read without fault. (The stage writing them is tested in tests/flows/test_experiment.py.)"""

from pathlib import Path

from aisci.experiment.notes import FigureNote, RunNote, measured_lines, read_notes
from aisci.templates import MetricSpec, TemplateSpec

SPEC = TemplateSpec(
    metrics={m: MetricSpec(primary=True) for m in ("loss", "kl", "margin", "acc")}
    | {"train_time": MetricSpec(timing=True)}
)
BASELINE = {
    "g": {
        "means": {"loss": 2.0, "kl": 0.004, "margin": -0.5, "acc": 0.5, "train_time": 10.0},
        "stderrs": {"loss": 0.1, "kl": 0.003},
    }
}


def test_changes_are_percents_only_where_a_percent_means_something():
    run = {
        "g": {
            "means": {"loss": 1.5, "kl": 0.01, "margin": 0.25, "acc": 0.75, "train_time": 12.0},
            "stderrs": {"loss": 0.05},
        }
    }
    assert measured_lines(BASELINE, run, SPEC, 1).splitlines() == [
        "Measured by aisci (run_1/final_info.json; mean ± stderr; change against run_0):",
        "- g.loss = 1.500 ± 0.050 (baseline 2.00 ± 0.10; -0.5, -25.0%)",
        "- g.kl = 0.01 (baseline 0.0040 ± 0.0030; +0.006)",  # a baseline within its noise of zero
        "- g.margin = 0.25 (baseline -0.5; +0.75)",  # values that can be negative
        "- g.acc = 0.75 (baseline 0.5; +0.25, +50.0%)",
        "(4 of 5 metrics per group; every metric is in run_1/final_info.json)",
    ]
    assert measured_lines(BASELINE, BASELINE, SPEC, 0).splitlines()[:2] == [
        "Measured by aisci (run_0/final_info.json; mean ± stderr):",
        "- g.loss = 2.00 ± 0.10",
    ]


def test_without_declarations_a_few_non_timing_metrics_are_summarised():
    names = [f"m{i:03d}" if i % 10 else f"step_{i}_time" for i in range(100)]
    run = {group: {"means": {n: float(i) for i, n in enumerate(names)}} for group in ("a", "b", "c", "d")}
    lines = measured_lines(run, run, TemplateSpec(), 2).splitlines()
    assert [line.split(" = ")[0] for line in lines[1:7]] == [f"- a.m00{i}" for i in range(1, 7)]
    assert len(lines) == 1 + 4 * 6 + 1 and lines[-1].startswith("(6 of 100 metrics per group")


def test_a_metric_not_reached_is_said_so_never_given_a_number():
    spec = TemplateSpec(metrics={"step_99": MetricSpec(primary=True, direction="lower")})
    reached = {"t": {"means": {"step_99": 120.0}}}
    unreached = {"t": {"means": {}, "unreached": ["step_99"], "smoke": True}}
    assert measured_lines(reached, unreached, spec, 1).splitlines()[1:] == [
        "- t.step_99: not reached (baseline 120)"
    ]
    assert "a smoke-size run" in measured_lines(reached, unreached, spec, 1)
    assert measured_lines(unreached, reached, spec, 1).splitlines()[1:] == [
        "- t.step_99 = 120 (baseline: not reached)"
    ]


def test_older_notes_are_read(tmp_path: Path):
    (tmp_path / "figures").mkdir()
    for name in ("loss.png", "samples.png"):
        (tmp_path / "figures" / name).write_bytes(b"\x89PNG")
    (tmp_path / "notes.txt").write_text(
        "## Run 1\nSwap the linear beta schedule for a cosine one. It should help.\n\nMeasured results:\n"
        "- circle.eval_loss = 0.4 (baseline 0.5, -20.0%)\n\n"
        "## Figures\n- figures/loss.png: Loss per run.\n"
    )
    notes = read_notes(tmp_path)
    assert notes.runs == {
        1: RunNote(
            run=1,
            label="Swap the linear beta schedule for a cosine one",
            description="Swap the linear beta schedule for a cosine one. It should help.",
        )
    }
    assert notes.figures == [
        FigureNote(file="figures/loss.png", description="Loss per run.", seen=False),
        FigureNote(file="figures/samples.png", description="", seen=False),  # in figures/, never noted
    ]
    (tmp_path / "notes.txt").write_text("Run 1: cosine schedule\nRun 2: cosine schedule, 2x steps\n")
    assert {r: n.label for r, n in read_notes(tmp_path).runs.items()} == {
        1: "cosine schedule",
        2: "cosine schedule, 2x steps",
    }


def test_odd_notes_never_raise(tmp_path: Path):
    assert read_notes(tmp_path).runs == {}  # no notes.txt at all
    (tmp_path / "notes.txt").write_bytes(
        b"\xff\xfe junk\n## Run x\n## Run 99999999999999999999999: huge\n## \n##Run 3\n## Figures\n- \n-: x\n"
    )
    notes = read_notes(tmp_path)
    assert list(notes.runs) == [99999999999999999999999] and notes.figures == []
