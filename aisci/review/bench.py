"""The reviewer benchmark: review papers with known decisions and score the reviewer as a classifier.

Reads the AI Scientist's layout (`ratings_subset.tsv` + `iclr_parsed/<id>.txt` or PDFs) or a plain CSV.
Each paper's review is cached in the workspace, so an interrupted run resumes where it stopped; the decision
is recomputed from the cached mean Overall, so a new threshold needs no new calls. Besides the fixed
threshold's figures, the bench fits a threshold on part of the papers (aisci.review.calibration), reports
it on the others, and writes it where reviews by the same model and set-up find it.
"""

import contextvars
import csv
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import BaseModel

from aisci.errors import BudgetExceeded, ConfigError, LLMResponseError
from aisci.files import write_atomic
from aisci.review.calibration import DEFAULT_THRESHOLD, Calibration, calibrate, calibration_path, setup_name
from aisci.review.form import Review
from aisci.review.loop import REVIEW, ReviewSteps, review_paper
from aisci.review.metrics import Confusion, Interval, bootstrap, confusion
from aisci.review.reviewer import ReviewConfig
from aisci.settings import Settings

PAPER_DIRS = ("iclr_parsed", "iclr_papers", "papers", ".")
PAPER_SUFFIXES = (".txt", ".pdf")


class BenchPaper(BaseModel):
    paper_id: str
    path: str
    accepted: bool


class BenchResult(BaseModel):
    paper_id: str
    accepted: bool
    overall: float | None = None
    model_decision: str | None = None
    cost_usd: float = 0.0
    elapsed_s: float = 0.0
    repairs: int = 0
    truncated: bool = False
    cached: bool = False
    error: str | None = None


class BenchReport(BaseModel):
    model: str
    threshold: float
    papers: int
    missing_files: int
    results: list[BenchResult]
    confusion: Confusion
    metrics: dict[str, Interval]
    cost_per_review_usd: float
    seconds_per_review: float
    repairs: int = 0
    wall_s: float
    calibration: Calibration | None = None
    calibration_file: str | None = None
    calibration_note: str = ""

    @property
    def failed(self) -> int:
        return sum(r.error is not None for r in self.results)

    def table(self) -> list[dict[str, str]]:
        """Rows for a table artifact or a terminal table: every metric at the fixed threshold on all papers,
        and on the held-out papers at the fixed and at the calibrated threshold."""
        columns = {f"all papers, {self.threshold:g}": self.metrics}
        if cal := self.calibration:
            n = len(cal.held_out.papers)
            columns[f"held-out ({n}), {cal.fixed_threshold:g}"] = cal.held_out.fixed
            columns[f"held-out ({n}), calibrated {cal.threshold:g}"] = cal.held_out.calibrated
        return [
            {"metric": name} | {title: _cell(metrics[name]) for title, metrics in columns.items()}
            for name in self.metrics
        ]


def _cell(m: Interval) -> str:
    return f"{m.value:.3f} [{m.low:.3f}, {m.high:.3f}]"


def parse_decision(value: str) -> bool:
    """Accept (any kind: "Accept (Poster)", "accept", 1, true) or Reject."""
    text = value.strip().lower()
    if text.startswith("accept") or text in ("1", "true", "yes"):
        return True
    if text.startswith("reject") or text in ("0", "false", "no"):
        return False
    raise ValueError(f"unknown decision {value!r} (expected Accept or Reject)")


def _find_paper(data: Path, paper_id: str) -> Path | None:
    for folder in PAPER_DIRS:
        for suffix in PAPER_SUFFIXES:
            path = data / folder / f"{paper_id}{suffix}"
            if path.is_file():
                return path
    return None


def load_dataset(data: Path) -> tuple[list[BenchPaper], int]:
    """The papers that have a file, and how many listed papers have none.

    `data` is a folder with `ratings_subset.tsv` (columns paper_id, decision) or one CSV, or a CSV file
    (columns paper_id or id, decision, and optionally path, relative to the CSV's folder)."""
    if data.is_file():
        table, delimiter = data, ","
    elif (data / "ratings_subset.tsv").is_file():
        table, delimiter = data / "ratings_subset.tsv", "\t"
    elif data.is_dir() and len(csvs := sorted(data.glob("*.csv"))) == 1:
        table, delimiter = csvs[0], ","
    else:
        raise ConfigError(
            f"no benchmark at {data}",
            hint="give a folder with ratings_subset.tsv (and iclr_parsed/), or a CSV with paper_id,decision",
        )
    root = table.parent
    papers, missing = [], 0
    with table.open(newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.DictReader(f, delimiter=delimiter), start=2):
            paper_id = (row.get("paper_id") or row.get("id") or "").strip()
            if not paper_id or "decision" not in row:
                raise ConfigError(f"{table}:{line}: needs the columns paper_id (or id) and decision")
            try:
                accepted = parse_decision(row["decision"] or "")
            except ValueError as exc:
                raise ConfigError(f"{table}:{line}: {exc}") from None
            path = root / row["path"] if row.get("path") else _find_paper(root, paper_id)
            if path is None or not path.is_file():
                missing += 1
                continue
            papers.append(BenchPaper(paper_id=paper_id, path=str(path), accepted=accepted))
    if not papers:
        raise ConfigError(
            f"none of the papers in {table} has a file",
            hint="expected iclr_parsed/<paper_id>.txt or .pdf beside it, or a path column",
        )
    return papers, missing


def cache_dir(settings: Settings, config: ReviewConfig) -> Path:
    """One folder per model and reviewing set-up, so changing either never reuses the wrong reviews."""
    return settings.workspace / "bench" / "review" / setup_name(settings.model_for("review"), config)


class _Budget:
    """The run's cap shared by the papers reviewed in parallel."""

    def __init__(self, cap: float) -> None:
        self.cap, self.spent = cap, 0.0
        self._lock = threading.Lock()

    def remaining(self) -> float | None:
        with self._lock:
            if not self.cap:
                return None
            if self.spent >= self.cap:
                raise BudgetExceeded(
                    f"the benchmark has spent ${self.spent:.4f} of its ${self.cap:.2f} budget",
                    hint="reviews so far are cached; run again with a higher AISCI_BUDGET_USD to resume",
                )
            return self.cap - self.spent

    def add(self, cost: float) -> None:
        with self._lock:
            self.spent += cost


def review_one(paper: BenchPaper, settings: Settings, config: ReviewConfig, budget: _Budget) -> BenchResult:
    """A paper's cached review, or a new one written to the cache; an invalid review is a failed result."""
    steps = ReviewSteps(settings, config, cache_dir(settings, config) / paper.paper_id)
    cached = steps.run_dir / REVIEW
    if cached.is_file():
        review = Review.model_validate_json(cached.read_text())
        return _result(paper, review, cached=True)
    gateway = steps.reviewer.gateway
    before = gateway.spent_usd  # earlier attempts at this paper, read back from its transcript
    remaining = budget.remaining()
    if remaining is not None:
        gateway.budget_usd = before + remaining
    try:
        review = review_paper(Path(paper.path), steps)
    except (LLMResponseError, ConfigError) as exc:
        budget.add(gateway.spent_usd - before)
        return BenchResult(paper_id=paper.paper_id, accepted=paper.accepted, error=exc.message)
    budget.add(review.cost_usd)
    return _result(paper, review, cached=False)


def _result(paper: BenchPaper, review: Review, cached: bool) -> BenchResult:
    return BenchResult(
        paper_id=paper.paper_id,
        accepted=paper.accepted,
        overall=review.overall,
        model_decision=review.model_decision,
        cost_usd=review.cost_usd,
        elapsed_s=review.elapsed_s,
        repairs=review.repairs,
        truncated=review.paper.truncated,
        cached=cached,
    )


def run_bench(
    data: Path,
    settings: Settings,
    config: ReviewConfig,
    limit: int | None = None,
    concurrency: int = 1,
    on_result: Callable[[BenchResult], None] | None = None,
    held_out_share: float = 0.5,
) -> BenchReport:
    """Review the first `limit` papers (cached ones cost nothing), score the decisions at the fixed
    threshold (config.threshold, else 6), and calibrate the threshold of this model and set-up."""
    papers, missing = load_dataset(data)
    papers = papers[:limit] if limit else papers
    budget = _Budget(settings.budget_usd)
    started = time.monotonic()

    def one(paper: BenchPaper) -> BenchResult:
        result = review_one(paper, settings, config, budget)
        if on_result:
            on_result(result)
        return result

    caller = contextvars.copy_context()  # inside a flow run, the workers' logs go to that run
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        results = list(pool.map(lambda paper: caller.copy().run(one, paper), papers))
    model = settings.model_for("review")
    fixed = DEFAULT_THRESHOLD if config.threshold is None else config.threshold
    scored = report(results, model, fixed, missing, time.monotonic() - started)
    done = [r for r in results if r.overall is not None]
    try:
        calibration = calibrate(
            [r.paper_id for r in done],
            [r.accepted for r in done],
            [r.overall for r in done],
            model=model,
            config=config,
            data=str(data),
            held_out_share=held_out_share,
            fixed=fixed,
        )
    except ValueError as exc:
        return scored.model_copy(update={"calibration_note": str(exc)})
    path = calibration_path(settings, config)
    write_atomic(path, calibration.model_dump_json(indent=2))
    return scored.model_copy(update={"calibration": calibration, "calibration_file": str(path)})


def report(
    results: list[BenchResult], model: str, threshold: float, missing: int = 0, wall_s: float = 0.0
) -> BenchReport:
    scored = [r for r in results if r.overall is not None]
    truth = [r.accepted for r in scored]
    predicted = [r.overall >= threshold for r in scored]
    overall = [r.overall for r in scored]
    return BenchReport(
        model=model,
        threshold=threshold,
        papers=len(results),
        missing_files=missing,
        results=results,
        confusion=confusion(truth, predicted),
        metrics=bootstrap(truth, predicted, overall),
        cost_per_review_usd=sum(r.cost_usd for r in scored) / len(scored) if scored else 0.0,
        seconds_per_review=sum(r.elapsed_s for r in scored) / len(scored) if scored else 0.0,
        repairs=sum(r.repairs for r in scored),
        wall_s=wall_s,
    )
