"""Gateway overhead against a bare litellm call (scripted server), and the embedded model's tokens/s.

    .venv/bin/python bench/llm_gateway.py [--calls 200] [--skip-local]

Goal: median gateway/bare latency ratio <= 1.05. Both paths send the same request to the same loopback
server, in shuffled order, so load on the machine affects them alike; the gateway's own code is also timed
alone, with litellm answering from a recorded response.
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from scripted_server import ScriptedServer  # noqa: E402

from aisci.llm import Gateway  # noqa: E402
from aisci.settings import LLMOptions, RoleModels, Settings, load_env  # noqa: E402

MESSAGES = [
    {"role": "system", "content": "You are a careful ML researcher."},
    {"role": "user", "content": "Summarise the idea of denoising diffusion in two sentences."},
]


def overhead(calls: int) -> None:
    load_env()  # as the gateway does before its first import of litellm
    import litellm

    reply = "Diffusion models learn to reverse a noising process. " * 4
    with ScriptedServer([{"reply": reply}]) as server, tempfile.TemporaryDirectory() as run_dir:
        settings = Settings(models=RoleModels(default="openai/scripted"), llm=LLMOptions(api_base=server.url))
        gateway = Gateway(settings, Path(run_dir) / "uncapped", budget_usd=0.0)
        capped = Gateway(settings, Path(run_dir) / "capped")  # the default $10 budget: the file ledger

        def bare() -> None:
            litellm.completion(
                model="openai/scripted",
                messages=MESSAGES,
                api_base=server.url,
                api_key="none",
                max_retries=0,
                timeout=600.0,  # the same request the gateway sends
                extra_headers={"X-Aisci-Role": "writing"},
            )

        def through_gateway() -> None:
            gateway.complete("writing", MESSAGES)

        def through_capped() -> None:
            capped.complete("writing", MESSAGES)

        for _ in range(10):  # warm up connections and litellm's caches
            bare()
            through_gateway()
            through_capped()
        timings: dict[str, list[float]] = {"bare": [], "gateway": [], "capped": []}
        paths = [("bare", bare), ("gateway", through_gateway), ("capped", through_capped)]
        for _ in range(calls):
            random.shuffle(paths)  # neither path always follows the other
            for name, call in paths:
                started = time.perf_counter()
                call()
                timings[name].append(time.perf_counter() - started)
        own_s = own_time(litellm, gateway, server.url)
    bare_ms = statistics.median(timings["bare"]) * 1000
    gateway_ms = statistics.median(timings["gateway"]) * 1000
    capped_ms = statistics.median(timings["capped"]) * 1000
    print(f"calls per path:            {calls}")
    print(f"bare litellm median:       {bare_ms:.2f} ms")
    print(f"gateway median:            {gateway_ms:.2f} ms (no budget: no ledger)")
    print(f"median ratio gateway/bare: {gateway_ms / bare_ms:.3f}  (goal <= 1.05)")
    print(
        f"with a budget:             {capped_ms:.2f} ms, ratio {capped_ms / bare_ms:.3f}; the ledger's "
        f"lock and two writes add {capped_ms - gateway_ms:.2f} ms a call"
    )
    share = own_s * 1000 / bare_ms
    print(f"gateway's own code:        {own_s * 1e6:.0f} us per call = {share:.2%} of a bare call")


def own_time(litellm, gateway: Gateway, url: str, calls: int = 2000) -> float:
    """The gateway's own work per call, with litellm answering instantly from one recorded response."""
    response = litellm.completion(model="openai/scripted", messages=MESSAGES, api_base=url, api_key="none")
    completion = litellm.completion
    litellm.completion = lambda **kwargs: response
    try:
        started = time.perf_counter()
        for _ in range(calls):
            gateway.complete("writing", MESSAGES)
        return (time.perf_counter() - started) / calls
    finally:
        litellm.completion = completion


def local_tokens_per_second() -> None:
    with tempfile.TemporaryDirectory() as run_dir:
        gateway = Gateway(Settings(), Path(run_dir))
        started = time.perf_counter()
        gateway.complete("writing", [{"role": "user", "content": "Say hi."}], max_tokens=4)
        print(f"local model first call:    {time.perf_counter() - started:.2f} s (includes loading)")
        rates = []
        for _ in range(3):
            reply = gateway.complete(
                "writing",
                [{"role": "user", "content": "Write a long paragraph about neural network training."}],
                max_tokens=256,
                temperature=0.8,
            )
            rates.append(reply.completion_tokens / reply.latency_s)
    print(f"local model generation:    {statistics.median(rates):.1f} tokens/s (median of 3, 256-token cap)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--skip-local", action="store_true")
    args = parser.parse_args()
    overhead(args.calls)
    if not args.skip_local:
        local_tokens_per_second()
