"""Novelty checks under Semantic Scholar's rate limit: how close do N concurrent checks get to the minimum?

    .venv/bin/python bench/novelty_rate.py [--checks 20] [--interval 1.0] [--prefect]

Each check is one search and one decision, through the real gateway (scripted model on loopback) and the
real S2 client (loopback API). The checks run in threads, as Prefect's task runner runs mapped tasks, and
share one limiter: the in-process one, or with --prefect Prefect's global rate limit on a temporary server.
The minimum is (N - 1) x interval, the first request going at once; litellm is imported before the clock
starts. Goal: wall time within 10% of the minimum.
"""

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from idea_fixtures import step  # noqa: E402
from s2_server import S2Server, recorded  # noqa: E402
from scripted_server import ScriptedServer  # noqa: E402

from aisci.literature import S2Client, S2Options, check_novelty  # noqa: E402
from aisci.literature.ratelimit import IntervalLimiter, RateLimiter  # noqa: E402
from aisci.llm import Gateway  # noqa: E402
from aisci.settings import LLMOptions, RoleModels, Settings  # noqa: E402


def run(checks: int, limiter: RateLimiter, model_url: str, s2_url: str) -> tuple[float, float]:
    """(wall seconds of all checks, seconds from the first S2 request to the last)."""
    settings = Settings(models=RoleModels(default="openai/scripted"), llm=LLMOptions(api_base=model_url))
    Gateway(settings).complete("ideation", [{"role": "user", "content": "warm up"}])  # litellm import: ~5 s
    stamps: list[float] = []

    class Stamped:
        def acquire(self) -> None:
            limiter.acquire()
            stamps.append(time.monotonic())

    def one(n: int) -> str:
        client = S2Client(options=S2Options(api_url=s2_url), limiter=Stamped())
        return check_novelty(
            f"idea_{n}", f"Idea {n}", "Hypothesis: it helps.", Gateway(settings), client.search, 2
        ).verdict

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=checks) as pool:
        verdicts = list(pool.map(one, range(checks)))
    wall = time.monotonic() - started
    assert verdicts == ["novel"] * checks, verdicts
    return wall, max(stamps) - min(stamps)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checks", type=int, default=20)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument(
        "--prefect", action="store_true", help="Prefect's global rate limit on a temporary server"
    )
    args = parser.parse_args()

    rules = [
        {"contains": "warm up", "reply": "ok"},
        {"contains": "Results for", "reply": step("novel", closest=[1], justification="[1] differs.")},
        {"reply": step("search", query="noise schedule diffusion")},
    ]
    with ScriptedServer(rules) as model, S2Server((200, recorded("search_noise_schedule"))) as s2:
        if args.prefect:
            from aisci import prefect_env

            prefect_env.apply(Settings(workspace=Path(tempfile.mkdtemp())))
            from prefect.testing.utilities import prefect_test_harness

            from tasks.ideation import PrefectRateLimiter

            with prefect_test_harness(server_startup_timeout=120):
                limiter: RateLimiter = PrefectRateLimiter("bench-semantic-scholar", args.interval)
                wall, spread = run(args.checks, limiter, model.url, s2.url)
            kind = "Prefect global rate limit"
        else:
            wall, spread = run(args.checks, IntervalLimiter(args.interval), model.url, s2.url)
            kind = "in-process limiter"
        minimum = (args.checks - 1) * args.interval
    print(f"{args.checks} novelty checks, 1 request per {args.interval:g} s, {kind}")
    print(f"  minimum (first to last request): {minimum:.2f} s")
    print(f"  first to last request:           {spread:.2f} s  ({spread / minimum:.3f} x minimum)")
    print(f"  wall, all checks:                {wall:.2f} s  ({wall / minimum:.3f} x minimum)")


if __name__ == "__main__":
    main()
