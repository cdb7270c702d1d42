"""The budget ledger under load: P ideas in P processes spend from one sweep's ledger until it stops them.

    .venv/bin/python bench/ledger.py [--ideas 4] [--budget 0.10] [--idea-budget 0] [--delay 0.1]

Against the scripted server, priced as openai/gpt-4o by litellm's price map. Goal: spent <= budget always,
and spent within one call's worst case of the budget (no money left unused by over-cautious reservations).
"""

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from scripted_server import ScriptedServer  # noqa: E402

from aisci.errors import BudgetExceeded  # noqa: E402
from aisci.llm import Gateway, request  # noqa: E402
from aisci.llm.ledger import Ledger  # noqa: E402
from aisci.settings import LLMOptions, RoleModels, Settings  # noqa: E402

MESSAGES = [{"role": "user", "content": "Propose one ablation for a small diffusion model."}]
MAX_TOKENS = 1000  # worst case per call: about $0.01
USAGE = [40, 600]  # what each call really costs: about $0.0061


def idea(args: tuple[Settings, str]) -> tuple[str, int, float, float]:
    settings, idea_dir = args
    gateway = Gateway(settings, Path(idea_dir))
    calls, started = 0, time.monotonic()
    try:
        while True:
            gateway.complete("coding", MESSAGES, max_tokens=MAX_TOKENS)
            calls += 1
    except BudgetExceeded:
        return Path(idea_dir).name, calls, gateway.spent_usd, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ideas", type=int, default=4)
    parser.add_argument("--budget", type=float, default=0.10)
    parser.add_argument("--idea-budget", type=float, default=0.0)
    parser.add_argument("--delay", type=float, default=0.1, help="seconds the model takes per call")
    args = parser.parse_args()
    rule = {"reply": "Drop the noise-level embedding.", "usage": USAGE, "delay_s": args.delay}
    with ScriptedServer([rule]) as server, tempfile.TemporaryDirectory() as tmp:
        sweep = Path(tmp) / "sweep"
        names = [f"idea_{i}" for i in range(args.ideas)]
        for name in names:
            (sweep / name).mkdir(parents=True)
            (sweep / name / "idea.json").write_text(json.dumps({"name": name}))
        settings = Settings(
            models=RoleModels(default="openai/gpt-4o"),
            llm=LLMOptions(api_base=server.url),
            budget_usd=args.budget,
            idea_budget_usd=args.idea_budget,
        )
        gateway = Gateway(settings)
        gateway.check_ready("coding")  # litellm imported once, before the processes fork
        target, timeout_s = gateway.target("coding"), settings.llm.timeout_s
        call = request.build(target, "coding", MESSAGES, timeout_s=timeout_s, max_tokens=MAX_TOKENS)
        worst = gateway.provider.worst_case_usd(call)  # what the ledger holds for each call
        with multiprocessing.get_context("fork").Pool(args.ideas) as pool:
            results = pool.map(idea, [(settings, str(sweep / name)) for name in names])
        state = Ledger(sweep).state()
    print(
        f"{args.ideas} ideas in {args.ideas} processes, worst case ${worst:.4f} per call, "
        f"real cost ${sum(r[2] for r in results) / max(1, sum(r[1] for r in results)):.4f}"
    )
    print(f"{'idea':<8} {'calls':>5} {'spent':>9} {'seconds':>7}")
    for name, calls, spent, seconds in results:
        print(f"{name:<8} {calls:>5} {spent:>9.4f} {seconds:>7.1f}")
    total = sum(r[2] for r in results)
    print(
        f"spent ${total:.4f} of ${args.budget:.2f} (ledger ${state.spent_usd:.4f}, "
        f"{len(state.reserved)} open reservations); unused ${args.budget - total:.4f}, "
        f"{'within' if total <= args.budget else 'OVER'} budget"
    )


if __name__ == "__main__":
    main()
