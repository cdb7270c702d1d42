"""The decision threshold calibrated per model and set-up: the fit, the held-out part, the file it writes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from review_fixtures import reply

from aisci.review import ReviewConfig, ReviewSteps, review_paper
from aisci.review.bench import run_bench
from aisci.review.calibration import calibrate, calibration_path, fit_threshold, split
from aisci.review.metrics import bootstrap

E1R0 = ReviewConfig(ensemble=1, reflections=0)


def test_fit_recovers_a_known_best_threshold():
    # Integer scores, accepted exactly when the score is 5 or more: any threshold in (4, 5] is perfect.
    scores = [float(s) for s in range(1, 11)] * 3
    assert 4 < fit_threshold([s >= 5 for s in scores], scores) <= 5
    # Two equally likely classes, N(4, 1) rejected and N(6, 1) accepted: balanced accuracy peaks at 5.
    rng = np.random.default_rng(1)
    rejected, accepted = rng.normal(4, 1, 2000), rng.normal(6, 1, 2000)
    fitted = fit_threshold([False] * 2000 + [True] * 2000, [*rejected, *accepted])
    assert fitted == pytest.approx(5.0, abs=0.2)


def test_of_equally_good_thresholds_the_fit_keeps_the_one_nearest_the_default():
    # 3 and 7 both give a balanced accuracy of 0.75 here.
    truth, scores = [False, True, False, True], [2.0, 4.0, 6.0, 8.0]
    assert fit_threshold(truth, scores) == 7.0
    assert fit_threshold(truth, scores, prior=3.5) == 3.0


def ids_and_truth(n: int) -> tuple[list[str], list[bool]]:
    return [f"p{i}" for i in range(n)], [i % 2 == 0 for i in range(n)]


def test_held_out_metrics_use_only_the_papers_not_fitted_on():
    ids, truth = ids_and_truth(20)
    fit, held = split(ids, truth, 0.5)
    assert not set(fit) & set(held) and sorted(fit + held) == list(range(20))
    assert sum(truth[i] for i in held) == 5 == sum(truth[i] for i in fit)  # stratified
    # The calibration part is separated at 4.5, the held-out part at 7.5.
    scores = [0.0] * 20
    for i in fit:
        scores[i] = 6.0 if truth[i] else 3.0
    for i in held:
        scores[i] = 9.0 if truth[i] else 6.0
    cal = calibrate(ids, truth, scores, "m", E1R0, "data")
    assert cal.threshold == 4.5  # from the calibration part alone: on all papers 7.5 would be as good
    assert set(cal.fitted_on) == {ids[i] for i in fit} and set(cal.held_out.papers) == {ids[i] for i in held}
    y, s = [truth[i] for i in held], [scores[i] for i in held]
    assert cal.held_out.calibrated == bootstrap(y, [v >= 4.5 for v in s], s)
    assert cal.held_out.fixed == bootstrap(y, [v >= 6.0 for v in s], s)
    assert cal.held_out.calibrated["balanced_accuracy"].value == 0.5  # 4.5 accepts every held-out paper
    # Moving the held-out scores never moves the fit.
    moved = [scores[i] + (3 if i in held else 0) for i in range(20)]
    assert calibrate(ids, truth, moved, "m", E1R0, "data").threshold == 4.5


def test_too_few_papers_of_a_class_are_not_calibrated():
    ids, truth = ids_and_truth(6)
    with pytest.raises(ValueError, match="too few papers to calibrate"):
        calibrate(ids, truth, [5.0] * 6, "m", E1R0, "data")


def write_bench(root: Path, accepted: int, rejected: int) -> None:
    """An AI Scientist layout whose paper texts carry NUL bytes, as three of the benchmark's do."""
    (root / "iclr_parsed").mkdir(parents=True)
    decisions = {f"a{i}": "Accept (Poster)" for i in range(accepted)} | {
        f"r{i}": "Reject" for i in range(rejected)
    }
    rows = ["paper_id\tdecision"] + [f"{pid}\t{d}" for pid, d in decisions.items()]
    (root / "ratings_subset.tsv").write_text("\n".join(rows) + "\n")
    for pid in decisions:
        quality = "STRONG" if pid.startswith("a") else "WEAK"
        (root / "iclr_parsed" / f"{pid}.txt").write_text(f"Paper {pid}.\x00 A {quality}\x00 result.\x0c\n")


def test_the_bench_calibrates_and_later_reviews_decide_with_it(scripted, scripted_settings, tmp_path):
    # This model scores every accepted paper 5 and every rejected one 3: at 6 it accepts nothing.
    write_bench(tmp_path / "iclr", accepted=6, rejected=6)
    scripted.add(
        {"contains": "area chair", "reply": reply(5)},
        {"contains": "STRONG", "reply": reply(5)},
        {"contains": "WEAK", "reply": reply(3)},
    )
    bench = run_bench(tmp_path / "iclr", scripted_settings, E1R0)
    assert bench.metrics["balanced_accuracy"].value == 0.5 and bench.metrics["roc_auc"].value == 1.0
    cal = bench.calibration
    assert cal is not None and cal.threshold == 4.0 and len(cal.held_out.papers) == 6
    assert cal.held_out.calibrated["balanced_accuracy"].value == 1.0
    assert cal.held_out.fixed["balanced_accuracy"].value == 0.5
    path = calibration_path(scripted_settings, E1R0)
    assert path == scripted_settings.workspace / "calibration" / "openai_scripted-e1-r0.json"
    assert bench.calibration_file == str(path) and json.loads(path.read_text())["threshold"] == 4.0
    assert [row["metric"] for row in bench.table()][:2] == ["accuracy", "balanced_accuracy"]
    assert bench.table()[1]["held-out (6), calibrated 4"].startswith("1.000")
    assert all("\\u0000" not in json.dumps(r["body"]) for r in scripted.requests)

    (tmp_path / "new.txt").write_text("A STRONG new paper.")
    review = review_paper(tmp_path / "new.txt", ReviewSteps(scripted_settings, E1R0, tmp_path / "run"))
    assert (review.overall, review.threshold, review.decision) == (5.0, 4.0, "Accept")
    assert review.threshold_source == str(path)
    saved = json.loads((tmp_path / "run" / "review.json").read_text())
    assert saved["threshold_source"] == str(path)
    other = ReviewConfig(ensemble=2, reflections=0)  # another set-up has no calibration: 6
    review = review_paper(tmp_path / "new.txt", ReviewSteps(scripted_settings, other, tmp_path / "run2"))
    assert (review.threshold, review.threshold_source, review.decision) == (6.0, "default", "Reject")
    given = ReviewConfig(ensemble=1, reflections=0, threshold=5.5)
    review = review_paper(tmp_path / "new.txt", ReviewSteps(scripted_settings, given, tmp_path / "run3"))
    assert (review.threshold, review.threshold_source, review.decision) == (5.5, "given", "Reject")


def test_the_bench_cli_prints_both_thresholds_and_publishes_its_artifact(prefect_harness, scripted, isolated):
    from prefect.artifacts import Artifact
    from prefect.settings import get_current_settings

    write_bench(isolated / "iclr", accepted=4, rejected=4)
    scripted.add(
        {"contains": "Paper a0.", "reply": reply(7, summary="x" * 1001), "times": 1},
        {"contains": "STRONG", "reply": reply(5)},
        {"contains": "WEAK", "reply": reply(3)},
    )
    env = {
        "AISCI_MODELS__DEFAULT": "openai/scripted",
        "AISCI_LLM__API_BASE": scripted.url,
        "AISCI_PREFECT__API_URL": get_current_settings().api.url,
        "COLUMNS": "200",
    }
    result = subprocess.run(
        [sys.executable, "-m", "aisci", "bench", "review", "--data", str(isolated / "iclr")]
        + ["-e", "1", "-r", "0", "-w", str(isolated / "ws")],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    assert result.returncode == 0, result.stderr
    print(result.stdout)
    assert "a0: Overall 5.00" in result.stderr and "1 repair rounds" in result.stderr
    assert "held-out (4), calibrated 4" in result.stdout and "all papers, 6" in result.stdout
    assert "calibrated threshold 4, fitted on 4 papers and measured on 4 others" in result.stdout
    assert "repair rounds: 1 in 1 of 8 reviews" in result.stdout
    artifact = Artifact.get("review-bench")
    assert artifact is not None and "calibrated threshold 4" in artifact.description
    assert "held-out (4), calibrated 4" in str(artifact.data)
