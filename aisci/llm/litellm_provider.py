"""The provider every run uses: litellm, the one module that imports it, with its price map, its
tokenizers and its exceptions read into the gateway's terms."""

import functools
import json
import logging
import re
from typing import Any

from aisci.errors import LLMAuthError, LLMModelNotFound
from aisci.llm.provider import Failure, Reply
from aisci.llm.request import Messages, Request, Target
from aisci.settings import load_env

log = logging.getLogger("aisci.llm")

RETRYABLE = (
    "RateLimitError",
    "Timeout",
    "APIConnectionError",
    "InternalServerError",
    "ServiceUnavailableError",
    "BadGatewayError",
)
MODEL_HINT = "name a model as provider/model, e.g. openai/gpt-4o (https://docs.litellm.ai/docs/providers)"
_WINDOW_NUMBERS = re.compile(
    r"maximum context length is (\d+) tokens.*?(?:resulted in|requested) (\d+)", re.S
)


@functools.cache
def _litellm():
    """Import litellm on first use: it is slow to import, and `load_env` must run first (no price map
    fetched online, no `.env` loaded of litellm's own choosing). Once: every call asks for it."""
    load_env()
    import litellm

    litellm.suppress_debug_info = True
    litellm.drop_params = True
    return litellm


class LiteLLMProvider:
    def __init__(self) -> None:
        self._checked: set[str] = set()
        self._unpriced: set[str] = set()

    def check(self, target: Target) -> None:
        if target.model in self._checked:
            return
        litellm = _litellm()
        try:
            litellm.get_llm_provider(model=target.model)
        except Exception:
            raise LLMModelNotFound(
                f"{target.model} names no provider litellm knows", MODEL_HINT, model=target.model
            ) from None
        if not target.endpoint:
            missing = litellm.validate_environment(model=target.model).get("missing_keys") or []
            if missing:
                raise LLMAuthError(
                    f"{target.model} needs {', '.join(missing)}, which is not set",
                    hint="export it in the environment or .env, or choose another model",
                )
        self._checked.add(target.model)

    def send(self, request: Request) -> Reply:
        target = request.target
        kwargs = dict(target.kwargs, model=target.model, messages=request.messages, **request.params)
        kwargs["max_retries"] = 0  # retries are the gateway's, so they are counted and logged once
        response = _litellm().completion(**kwargs)
        return Reply(
            text=response.choices[0].message.content or "",
            prompt_tokens=getattr(response.usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(response.usage, "completion_tokens", 0) or 0,
            cost_usd=0.0 if target.local else self._cost(response, target.model),
            cut_off=response.choices[0].finish_reason == "length",
        )

    def failure(self, exc: Exception) -> Failure:
        litellm = _litellm()
        status, cause = _status(exc), _first_line(exc)
        if _too_large(litellm, exc):
            numbers = _WINDOW_NUMBERS.search(str(exc))
            window, prompt = (int(numbers[1]), int(numbers[2])) if numbers else (None, None)
            return Failure("too_large", False, cause, status, window, prompt)
        retry = isinstance(exc, tuple(getattr(litellm, n) for n in RETRYABLE))
        refused = litellm.AuthenticationError | litellm.PermissionDeniedError
        if status in (401, 403) or isinstance(exc, refused):
            kind = "auth"
        elif status == 404 or isinstance(exc, litellm.NotFoundError):
            kind = "not_found"
        elif isinstance(exc, litellm.BadRequestError | litellm.UnprocessableEntityError):
            kind = "rejected"
        else:
            kind = "transient" if retry else "other"
        return Failure(kind, retry, cause, status, answered=not isinstance(exc, litellm.Timeout))

    def worst_case_usd(self, request: Request) -> float:
        target = request.target
        if target.local or target.model in self._unpriced:
            return 0.0
        litellm = _litellm()
        try:
            info = litellm.get_model_info(model=target.model)
            output = request.max_tokens or int(info.get("max_output_tokens") or info.get("max_tokens") or 0)
            prompt_cost, output_cost = litellm.cost_per_token(
                model=target.model,
                prompt_tokens=self.count_tokens(target.model, messages=request.messages),
                completion_tokens=output,
            )
        except Exception:
            return 0.0  # no price known: the call counts $0 (`_cost` warns once)
        return float(prompt_cost + output_cost)

    def context_window(self, model: str) -> int | None:
        try:
            info = _litellm().get_model_info(model=model)
        except Exception:
            return None
        return int(info.get("max_input_tokens") or info.get("max_tokens") or 0) or None

    def count_tokens(self, model: str, text: str | None = None, messages: Messages | None = None) -> int:
        try:
            return int(_litellm().token_counter(model=model, text=text, messages=messages))
        except Exception:
            sized = text if text is not None else json.dumps(messages, default=str)
            return len(sized) // 3 + 1

    def supports_images(self, model: str) -> bool:
        try:
            return bool(_litellm().supports_vision(model=model))
        except Exception:
            return False

    def supports_schema(self, model: str) -> bool:
        try:
            return bool(_litellm().supports_response_schema(model=model))
        except Exception:
            return False

    def _cost(self, response: Any, model: str) -> float:
        if model in self._unpriced:
            return 0.0
        try:
            return float(_litellm().completion_cost(completion_response=response, model=model))
        except Exception:
            self._unpriced.add(model)
            log.warning("no price known for %s: its calls count $0", model)
            return 0.0


def _too_large(litellm: Any, exc: Exception) -> bool:
    """The prompt is too large for the model: a 413, or litellm's mapping of one (it maps "Request too large"
    to a rate limit, which no retry can cure)."""
    return (
        _status(exc) == 413
        or isinstance(exc, litellm.ContextWindowExceededError)
        or getattr(exc, "code", None) in ("context_length_exceeded", "request_too_large")
        or "request too large" in str(exc).lower()
    )


def _status(exc: Exception) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _first_line(exc: Exception) -> str:
    """The provider's own words: litellm's `litellm.XError: XError: OpenAIException - ` prefixes dropped."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return re.sub(r"^(?:litellm\.\w+: |\w+Error: |\w+Exception - )+", "", line) or line
