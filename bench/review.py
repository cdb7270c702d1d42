"""Reviews per minute through the whole reviewer (ensemble, reflections, meta-review) against the scripted
server, reviewing papers one at a time and four at a time.

    .venv/bin/python bench/review.py [--papers 12] [--ensemble 3] [--reflections 1]

The server answers at once, so the figures measure aisci's own cost per review (prompt building, litellm,
validation, transcript writes) and how well papers reviewed in parallel share it.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from scripted_server import ScriptedServer  # noqa: E402

from aisci.review import ReviewConfig  # noqa: E402
from aisci.review.bench import run_bench  # noqa: E402
from aisci.settings import LLMOptions, RoleModels, Settings  # noqa: E402

FORM = {
    "summary": "The paper compares noise schedules for small diffusion models.",
    "strengths": ["clear ablation", "three seeds"],
    "weaknesses": ["toy datasets only"],
    "questions": ["does it hold at higher dimension?"],
    "limitations": ["2D data"],
    "ethical_concerns": False,
    **dict.fromkeys(
        ("originality", "quality", "clarity", "significance", "soundness", "presentation", "contribution"), 3
    ),
    "overall": 6,
    "confidence": 4,
    "decision": "Accept",
}
SCRIPT = [
    {"contains": "Reflection round", "reply": json.dumps({"thought": "fine", "review": FORM, "done": False})},
    {"reply": json.dumps(FORM)},
]


def make_dataset(root: Path, papers: int) -> Path:
    (root / "iclr_parsed").mkdir(parents=True)
    rows = ["paper_id\tdecision"]
    for i in range(papers):
        rows.append(f"p{i}\t{'Accept (Poster)' if i % 2 else 'Reject'}")
        (root / "iclr_parsed" / f"p{i}.txt").write_text(f"Paper {i}. " + "Results and discussion. " * 1500)
    (root / "ratings_subset.tsv").write_text("\n".join(rows) + "\n")
    return root


def reviews_per_minute(server: ScriptedServer, data: Path, config: ReviewConfig, concurrency: int) -> float:
    with tempfile.TemporaryDirectory() as workspace:
        settings = Settings(
            workspace=Path(workspace),
            models=RoleModels(default="openai/scripted"),
            llm=LLMOptions(api_base=server.url),
        )
        started = time.perf_counter()
        report = run_bench(data, settings, config, concurrency=concurrency)
        elapsed = time.perf_counter() - started
    assert report.failed == 0 and all(not r.cached for r in report.results)
    return len(report.results) / elapsed * 60


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--papers", type=int, default=12)
    parser.add_argument("--ensemble", type=int, default=3)
    parser.add_argument("--reflections", type=int, default=1)
    args = parser.parse_args()
    config = ReviewConfig(ensemble=args.ensemble, reflections=args.reflections)
    calls = args.ensemble * (1 + args.reflections) + (args.ensemble > 1)
    with ScriptedServer(SCRIPT) as server, tempfile.TemporaryDirectory() as root:
        data = make_dataset(Path(root), args.papers)
        reviews_per_minute(
            server, data, config.model_copy(update={"ensemble": 1, "reflections": 0}), 1
        )  # warm-up
        rates = {n: reviews_per_minute(server, data, config, n) for n in (1, 4)}
    print(f"papers: {args.papers}, E={args.ensemble}, R={args.reflections} ({calls} model calls per review)")
    for n, rate in rates.items():
        print(f"concurrency {n}: {rate:7.1f} reviews/min  ({rate * calls:7.1f} model calls/min)")
    print(f"speed-up 4 vs 1: {rates[4] / rates[1]:.2f}x")
