"""Reviewing a paper (one task per ensemble member) and benchmarking the reviewer."""

from pathlib import Path

from prefect import flow
from prefect.artifacts import create_table_artifact

from aisci.review import Review, ReviewConfig, loop
from aisci.review.bench import BenchReport, run_bench
from aisci.settings import get_settings
from tasks.preflight import preflight_checks
from tasks.review import TaskReviewSteps


@flow(name="review", log_prints=True)
def review_flow(paper: Path, config: ReviewConfig | None = None, run_dir: Path | None = None) -> Review:
    """<run_dir>/review.json (default: <workspace>/review/<paper name>/), and a score table artifact."""
    preflight_checks(get_settings(), "review")
    run_dir = run_dir or get_settings().workspace / "review" / Path(paper).stem
    return review_paper(paper, config or ReviewConfig(), run_dir)


def review_paper(paper: Path, config: ReviewConfig, run_dir: Path) -> Review:
    """The review loop with its steps as tasks of the calling flow run (the idea flow's review stage, or
    the flow above), and its score table artifact."""
    review = loop.review_paper(paper, TaskReviewSteps(get_settings(), config, run_dir))
    if review.paper.truncated:
        print(review.paper.note)
    create_table_artifact(
        key="review-scores",
        table=[{"score": name, "ensemble mean": round(value, 2)} for name, value in review.scores.items()]
        + [
            {
                "score": "decision",
                "ensemble mean": f"{review.decision} at threshold {review.threshold:g} from "
                f"{review.threshold_source} (model: {review.model_decision})",
            }
        ],
        description=f"Review of {Path(paper).name} by {review.model}: {len(review.members)} reviews.",
    )
    print(f"{Path(paper).name}: mean Overall {review.overall:.2f} -> {review.decision}")
    return review


@flow(name="review-bench", log_prints=True)
def review_bench_flow(
    data: Path, config: ReviewConfig | None = None, limit: int | None = None, concurrency: int = 1
) -> BenchReport:
    """The reviewer benchmark (resumable: reviews are cached per paper), published as a table artifact."""
    settings = get_settings()
    report = run_bench(Path(data), settings, config or ReviewConfig(), limit=limit, concurrency=concurrency)
    publish_bench(report)
    return report


def publish_bench(report: BenchReport) -> None:
    """The bench's table as the artifact review-bench: of this flow run, or on its own from the CLI."""
    c = report.confusion
    calibrated = (
        f"calibrated threshold {report.calibration.threshold:g} ({report.calibration_file})"
        if report.calibration
        else f"not calibrated: {report.calibration_note}"
    )
    create_table_artifact(
        key="review-bench",
        table=report.table(),
        description=(
            f"{report.model}, {report.papers} papers ({report.failed} failed), "
            f"fixed threshold {report.threshold:g}: TP {c.tp} FP {c.fp} TN {c.tn} FN {c.fn}; {calibrated}; "
            f"${report.cost_per_review_usd:.4f}, {report.seconds_per_review:.1f} s and "
            f"{report.repairs} repair rounds over {report.papers - report.failed} reviews."
        ),
    )
