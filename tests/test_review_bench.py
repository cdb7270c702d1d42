"""Reviewer benchmark: metrics against a hand-checked confusion matrix, data layouts, resuming, the CLI."""

import json
import math
import os
import subprocess
import sys

import pytest
from review_fixtures import reply

from aisci.errors import ConfigError
from aisci.review import ReviewConfig
from aisci.review.bench import load_dataset, report, run_bench
from aisci.review.metrics import bootstrap, confusion, point_metrics, roc_auc

# Ten papers, hand-counted: TP 3 (0-2), FN 2 (3-4), FP 1 (5), TN 4 (6-9).
TRUTH = [True] * 5 + [False] * 5
PREDICTED = [True, True, True, False, False, True, False, False, False, False]
SCORES = [8.0, 7.0, 6.0, 5.0, 4.0, 6.5, 5.5, 3.0, 2.0, 1.0]


def test_metrics_match_the_hand_checked_confusion_matrix():
    import numpy as np

    y, p, s = np.array(TRUTH), np.array(PREDICTED), np.array(SCORES)
    c = confusion(y, p)
    assert (c.tp, c.fn, c.fp, c.tn) == (3, 2, 1, 4)
    m = point_metrics(y, p, s)
    assert m["accuracy"] == pytest.approx(0.7)
    assert m["balanced_accuracy"] == pytest.approx((3 / 5 + 4 / 5) / 2)
    assert m["f1"] == pytest.approx(2 * 3 / (2 * 3 + 1 + 2))
    assert m["fpr"] == pytest.approx(1 / 5) and m["fnr"] == pytest.approx(2 / 5)
    # Positive scores 8,7,6,5,4 against negatives 6.5,5.5,3,2,1: 20 of 25 pairs ordered right.
    assert m["roc_auc"] == pytest.approx(20 / 25)


def test_roc_auc_counts_ties_as_half_and_is_undefined_for_one_class():
    import numpy as np

    assert roc_auc(np.array([True, False]), np.array([5.0, 5.0])) == 0.5
    assert math.isnan(roc_auc(np.array([True, True]), np.array([1.0, 2.0])))


def test_bootstrap_intervals_hold_the_point_value_and_are_reproducible():
    first = bootstrap(TRUTH, PREDICTED, SCORES, samples=300)
    assert first == bootstrap(TRUTH, PREDICTED, SCORES, samples=300)
    for interval in first.values():
        assert 0.0 <= interval.low <= interval.value <= interval.high <= 1.0
    assert first["accuracy"].high - first["accuracy"].low > 0.1  # ten papers give a wide interval


def write_ai_scientist_layout(root, decisions: dict[str, str], missing: tuple[str, ...] = ()) -> None:
    (root / "iclr_parsed").mkdir(parents=True)
    rows = ["paper_id\t0\t1\tdecision"] + [f"{pid}\t6.0\t5.0\t{d}" for pid, d in decisions.items()]
    (root / "ratings_subset.tsv").write_text("\n".join(rows) + "\n")
    for pid in decisions:
        if pid not in missing:
            quality = "STRONG" if pid.startswith("good") else "WEAK"
            (root / "iclr_parsed" / f"{pid}.txt").write_text(f"Paper {pid}. A {quality} result.")


def test_ai_scientist_layout_and_plain_csv(tmp_path):
    write_ai_scientist_layout(
        tmp_path / "iclr", {"a1": "Accept (Poster)", "r1": "Reject", "a2": "Accept (Oral)"}, missing=("a2",)
    )
    papers, missing = load_dataset(tmp_path / "iclr")
    assert [(p.paper_id, p.accepted) for p in papers] == [("a1", True), ("r1", False)] and missing == 1
    (tmp_path / "p.pdf").write_text("x")
    (tmp_path / "set.csv").write_text("id,decision,path\nx1,accept,p.pdf\nx2,0,p.pdf\n")
    papers, _ = load_dataset(tmp_path / "set.csv")
    assert [p.accepted for p in papers] == [True, False] and papers[0].path == str(tmp_path / "p.pdf")
    (tmp_path / "bad.csv").write_text("paper_id,decision\nx1,maybe\n")
    with pytest.raises(ConfigError, match="bad.csv:2: unknown decision 'maybe'"):
        load_dataset(tmp_path / "bad.csv")


DECISIONS = {"good1": "Accept (Poster)", "good2": "Reject", "weak1": "Accept (Spotlight)", "weak2": "Reject"}


def test_bench_scores_the_reviewer_and_resumes_from_its_cache(scripted, scripted_settings, tmp_path):
    write_ai_scientist_layout(tmp_path / "iclr", DECISIONS)
    scripted.add(
        {"contains": "Paper weak2", "reply": "not a review", "times": 2},
        {"contains": "STRONG", "reply": reply(8)},
        {"contains": "WEAK", "reply": reply(3)},
    )
    config = ReviewConfig(ensemble=1, reflections=0)
    first = run_bench(tmp_path / "iclr", scripted_settings, config)
    assert [(r.paper_id, r.overall) for r in first.results] == [
        ("good1", 8.0),
        ("good2", 8.0),
        ("weak1", 3.0),
        ("weak2", None),
    ]
    assert first.failed == 1 and "no valid ReviewForm" in first.results[3].error
    c = first.confusion
    assert (c.tp, c.fp, c.tn, c.fn) == (1, 1, 0, 1)
    assert first.metrics["accuracy"].value == pytest.approx(1 / 3)

    calls = len(scripted.requests)
    second = run_bench(tmp_path / "iclr", scripted_settings, config)
    assert [r.cached for r in second.results] == [True, True, True, False]
    assert len(scripted.requests) == calls + 1  # only the failed paper is asked again
    assert second.results[3].overall == 3.0
    strict = report(second.results, "m", threshold=9.0)
    assert strict.confusion.tp == 0 and strict.confusion.tn == 2  # a new threshold needs no new calls


def test_bench_review_cli_prints_the_metrics(scripted, isolated):
    write_ai_scientist_layout(isolated / "iclr", DECISIONS)
    scripted.add({"contains": "STRONG", "reply": reply(8)}, {"contains": "WEAK", "reply": reply(3)})
    env = {"AISCI_MODELS__DEFAULT": "openai/scripted", "AISCI_LLM__API_BASE": scripted.url}
    args = [
        "--data",
        str(isolated / "iclr"),
        "--limit",
        "3",
        "-e",
        "1",
        "-r",
        "0",
        "-w",
        str(isolated / "ws"),
    ]
    result = subprocess.run(
        [sys.executable, "-m", "aisci", "bench", "review", *args, "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["papers"] == 3 and out["confusion"] == {"tp": 1, "fp": 1, "tn": 0, "fn": 1}
    assert set(out["metrics"]) == {"accuracy", "balanced_accuracy", "f1", "roc_auc", "fpr", "fnr"}
    assert "good1: Overall 8.00" in result.stderr
