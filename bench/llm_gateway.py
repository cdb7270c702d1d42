"""Gateway overhead against a bare litellm call (scripted server), and the embedded model's tokens/s.

    .venv/bin/python bench/llm_gateway.py [--calls 1000] [--skip-local]

Goal: median gateway/bare latency ratio <= 1.05. Both paths send the same request to the same loopback
server, in shuffled order, so load on the machine affects them alike; the gateway's own code is also timed
alone, with litellm answering from a recorded response.

Calls are timed in blocks of consecutive calls down one path, as a pipeline makes them, and one at a time.
litellm finishes logging each call on a background thread after it returns. The gateway's bookkeeping after
the call (its transcript line, written before it returns so that no paid call goes unrecorded) waits for that
thread, while a bare call's caller goes on and the logging overlaps its next request. The last line measures
that wait.
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from scripted_server import ScriptedServer  # noqa: E402

from aisci.llm import Gateway  # noqa: E402
from aisci.settings import LLMOptions, RoleModels, Settings, load_env  # noqa: E402

BLOCK = 10  # consecutive calls timed together
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

        paths = {"bare": bare, "gateway": through_gateway, "capped": through_capped}
        timed(paths, 10, 1)  # warm up connections and litellm's caches
        blocks = timed(paths, calls // BLOCK, BLOCK)
        single = timed(paths, calls, 1)
        after_s = after_reply(litellm, litellm.completion, gateway)
        response = litellm.completion(
            model="openai/scripted", messages=MESSAGES, api_base=server.url, api_key="none"
        )
        own_s = own_time(litellm, gateway, response)
        after_own_s = after_reply(litellm, lambda **kwargs: response, gateway)
    bare_ms, gateway_ms, capped_ms = (blocks[name] * 1000 for name in paths)
    print(f"calls per path:            {calls} in blocks of {BLOCK}, then {calls} one at a time")
    print(f"bare litellm median:       {bare_ms:.2f} ms a call")
    print(f"gateway median:            {gateway_ms:.2f} ms a call (no budget: no ledger)")
    print(f"median ratio gateway/bare: {gateway_ms / bare_ms:.3f}  (goal <= 1.05)")
    print(
        f"with a budget:             {capped_ms:.2f} ms, ratio {capped_ms / bare_ms:.3f}; the ledger's "
        f"lock and two appends add {capped_ms - gateway_ms:.2f} ms a call"
    )
    print(
        f"calls timed one at a time: ratio {single['gateway'] / single['bare']:.3f} "
        "(litellm's logging of a bare call lands on the next call timed)"
    )
    share = own_s * 1000 / bare_ms
    print(f"gateway's own code:        {own_s * 1e6:.0f} us per call = {share:.2%} of a bare call")
    print(
        f"after litellm returns:     {after_s * 1e6:.0f} us a call, its own code {after_own_s * 1e6:.0f} us; "
        "the rest waits for litellm's logging thread, which its first file write lets run"
    )


def timed(paths: dict[str, Callable[[], None]], rounds: int, block: int) -> dict[str, float]:
    """Median seconds a call for each path, timing `block` consecutive calls at a time, paths shuffled
    each round so that neither always follows the other."""
    per_call: dict[str, list[float]] = {name: [] for name in paths}
    order = list(paths)
    for _ in range(rounds):
        random.shuffle(order)
        for name in order:
            started = time.perf_counter()
            for _ in range(block):
                paths[name]()
            per_call[name].append((time.perf_counter() - started) / block)
    return {name: statistics.median(times) for name, times in per_call.items()}


def after_reply(litellm, completion: Callable[..., object], gateway: Gateway, calls: int = 300) -> float:
    """Median seconds the gateway takes from litellm's return to its own, with `completion` answering."""
    returned: list[float] = []

    def marked(**kwargs):
        response = completion(**kwargs)
        returned.append(time.perf_counter())
        return response

    after = []
    with answering(litellm, marked):
        for _ in range(calls):
            gateway.complete("writing", MESSAGES)
            after.append(time.perf_counter() - returned[-1])
    return statistics.median(after)


def own_time(litellm, gateway: Gateway, response: object, calls: int = 2000) -> float:
    """The gateway's own work per call, with litellm answering instantly from one recorded response."""
    with answering(litellm, lambda **kwargs: response):
        started = time.perf_counter()
        for _ in range(calls):
            gateway.complete("writing", MESSAGES)
        return (time.perf_counter() - started) / calls


@contextmanager
def answering(litellm, completion: Callable[..., object]) -> Iterator[None]:
    """litellm.completion replaced by `completion` for the gateway's calls inside the block."""
    saved, litellm.completion = litellm.completion, completion
    try:
        yield
    finally:
        litellm.completion = saved


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
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--skip-local", action="store_true")
    args = parser.parse_args()
    overhead(args.calls)
    if not args.skip_local:
        local_tokens_per_second()
