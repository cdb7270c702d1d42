"""The LLM gateway: the one place that calls litellm.

Every call goes through roles (ideation, coding, writing, review) so each stage can use its own model; the
gateway retries transient failures, turns every provider error into an aisci error, counts tokens and cost,
reserves each call's worst case against the run's budget ledger before sending it, and appends each exchange,
failed ones included, to the run's transcript.
"""

import json
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from aisci.errors import (
    LLMAuthError,
    LLMContextError,
    LLMError,
    LLMModelNotFound,
    LLMRequestError,
    LLMResponseError,
)
from aisci.llm import local, structured
from aisci.llm.ledger import Ledger
from aisci.llm.transcript import TRANSCRIPT, Transcript
from aisci.settings import LOCAL_MODEL, Role, Settings, load_env

log = logging.getLogger("aisci.llm")

T = TypeVar("T", bound=BaseModel)
Messages = list[dict[str, Any]]

# Bounds for the embedded model's schemas and replies: a 135M model under a grammar can otherwise run on.
LOCAL_MAX_STRING = 240
LOCAL_MAX_ITEMS = 3
LOCAL_MAX_TOKENS = 2048
MAX_BACKOFF_S = 60.0
DEFAULT_CONTEXT_TOKENS = 8192  # a model litellm does not know: assume a small window rather than a large one

RETRYABLE = (
    "RateLimitError",
    "Timeout",
    "APIConnectionError",
    "InternalServerError",
    "ServiceUnavailableError",
)
RETRYABLE += ("BadGatewayError",)
MODEL_HINT = "name a model as provider/model, e.g. openai/gpt-4o (https://docs.litellm.ai/docs/providers)"
_WINDOW_NUMBERS = re.compile(
    r"maximum context length is (\d+) tokens.*?(?:resulted in|requested) (\d+)", re.S
)


def _litellm():
    """Import litellm on first use: it is slow to import, and `load_env` must run first (no price map
    fetched online, no `.env` loaded of litellm's own choosing)."""
    load_env()
    import litellm

    litellm.suppress_debug_info = True
    litellm.drop_params = True
    return litellm


class Completion(BaseModel):
    role: str
    model: str
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0


class RoleUsage(BaseModel):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


@dataclass
class Target:
    """How to reach the model a role names."""

    model: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    local: bool = False
    endpoint: bool = False  # an OpenAI-compatible endpoint we point at (local model, scripted server, vLLM)


class Gateway:
    """Model calls of one run. `run_dir` holds `transcript.jsonl`; without it nothing is written."""

    def __init__(
        self,
        settings: Settings,
        run_dir: Path | None = None,
        budget_usd: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.budget_usd = settings.budget_usd if budget_usd is None else budget_usd
        self.transcript = Transcript(run_dir / TRANSCRIPT, settings.secret_values()) if run_dir else None
        self.ledger, self.idea = Ledger.for_run(run_dir) if run_dir else (Ledger(None), None)
        self.spent_usd = self.transcript.spent_usd() if self.transcript else 0.0
        self.usage: dict[str, RoleUsage] = {}
        self._sleep = sleep
        self._checked_keys: set[str] = set()
        self._unpriced: set[str] = set()

    def target(self, role: Role) -> Target:
        model = self.settings.model_for(role)
        if model == LOCAL_MODEL:
            return Target(f"openai/{local.SERVED_NAME}", {"api_key": "local"}, local=True, endpoint=True)
        if self.settings.llm.api_base:
            key = self.settings.llm.api_key
            api_key = key.get_secret_value() if key else "none"
            return Target(model, {"api_base": self.settings.llm.api_base, "api_key": api_key}, endpoint=True)
        return Target(model)

    def context_window(self, role: Role) -> int:
        """Input tokens the role's model accepts, so each stage can budget what it sends."""
        target = self.target(role)
        if target.local:
            return local.CONTEXT_TOKENS
        try:
            info = _litellm().get_model_info(model=target.model)
        except Exception:
            return DEFAULT_CONTEXT_TOKENS
        return int(info.get("max_input_tokens") or info.get("max_tokens") or DEFAULT_CONTEXT_TOKENS)

    def supports_images(self, role: Role) -> bool:
        """Whether the role's model accepts image content parts (litellm's model map; unknown models: no)."""
        target = self.target(role)
        if target.local:
            return False
        try:
            return bool(_litellm().supports_vision(model=target.model))
        except Exception:
            return False

    def count_tokens(self, role: Role, text: str) -> int:
        """Tokens of `text` for the role's model (litellm's tokenizer; an estimate for unknown models)."""
        try:
            return int(_litellm().token_counter(model=self.target(role).model, text=text))
        except Exception:
            return len(text) // 3 + 1

    def complete(
        self,
        role: Role,
        messages: Messages,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        response_format: dict | None = None,
    ) -> Completion:
        """One chat completion, retried on transient errors, counted and written to the transcript.

        Raises BudgetExceeded before sending when its worst case does not fit the budget, and an LLMError
        subclass (recorded in the transcript) when the provider refuses it."""
        target = self.target(role)
        self._check_key(target)
        litellm = _litellm()
        kwargs = dict(
            target.kwargs, model=target.model, messages=messages, timeout=self.settings.llm.timeout_s
        )
        kwargs["max_retries"] = 0  # retries are ours, so they are counted and logged once
        if target.local:
            kwargs["api_base"] = local.base_url()
            max_tokens = min(max_tokens or LOCAL_MAX_TOKENS, LOCAL_MAX_TOKENS)
        if target.endpoint:
            kwargs["extra_headers"] = {"X-Aisci-Role": role}  # lets an endpoint we run tell the roles apart
        for name, value in (("temperature", temperature), ("max_tokens", max_tokens)):
            if value is not None:
                kwargs[name] = value
        if response_format is not None:
            kwargs["response_format"] = response_format

        reservation = self.ledger.reserve(
            self._worst_case(litellm, target, messages, max_tokens),
            self.budget_usd,
            self.idea,
            self.settings.idea_budget_usd,
            ttl_s=self._longest_call_s(),
        )
        cost = 0.0
        try:
            completion = self._call(litellm, role, target, messages, kwargs)
            cost = completion.cost_usd
        finally:
            self.ledger.settle(reservation, cost)
        self.spent_usd += completion.cost_usd
        usage = self.usage.setdefault(role, RoleUsage())
        usage.calls += 1
        usage.prompt_tokens += completion.prompt_tokens
        usage.completion_tokens += completion.completion_tokens
        usage.cost_usd += completion.cost_usd
        return completion

    def _call(self, litellm: Any, role: Role, target: Target, messages: Messages, kwargs: dict) -> Completion:
        """The request with its retries; a failure is recorded and raised as an aisci error."""
        started = time.monotonic()
        attempts = 0
        while True:
            attempts += 1
            try:
                response = litellm.completion(**kwargs)
                break
            except Exception as exc:
                if self._transient(litellm, exc) and attempts <= self.settings.llm.max_retries:
                    delay = (
                        self.settings.llm.retry_base_delay_s * 2 ** (attempts - 1) * random.uniform(0.5, 1.5)
                    )
                    log.warning("%s: %s; retrying in %.1fs", target.model, type(exc).__name__, delay)
                    self._sleep(min(delay, MAX_BACKOFF_S))
                    continue
                error = self._error(litellm, exc, role, target, messages, attempts)
                self._record(role, target, messages, None, started, attempts, error=error)
                raise error from None

        completion = Completion(
            role=role,
            model=self.settings.model_for(role),
            text=response.choices[0].message.content or "",
            prompt_tokens=getattr(response.usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(response.usage, "completion_tokens", 0) or 0,
            cost_usd=0.0 if target.local else self._cost(litellm, response, target.model),
            latency_s=time.monotonic() - started,
        )
        self._record(role, target, messages, completion, started, attempts)
        return completion

    def _transient(self, litellm: Any, exc: Exception) -> bool:
        """Worth another attempt: rate limits, timeouts, lost connections, 5xx; never a prompt too large."""
        return isinstance(exc, tuple(getattr(litellm, n) for n in RETRYABLE)) and not _too_large(litellm, exc)

    def _error(
        self, litellm: Any, exc: Exception, role: Role, target: Target, messages: Messages, attempts: int
    ) -> LLMError:
        """The aisci error for a failed call: one line saying what went wrong, and a hint."""
        status, cause, model = _status(exc), _first_line(exc), target.model
        where = {"model": model, "status": status}
        if _too_large(litellm, exc):
            window, prompt = self.context_window(role), None
            numbers = _WINDOW_NUMBERS.search(str(exc))
            if numbers:
                window, prompt = int(numbers[1]), int(numbers[2])
            else:
                prompt = self._prompt_tokens(litellm, target, messages)
            return LLMContextError(
                f"{model} cannot take a prompt of about {prompt} tokens (its window is {window}): {cause}",
                prompt_tokens=prompt,
                window=window,
                hint="shorten the prompt, or choose a model with a larger context window",
                **where,
            )
        if status in (401, 403) or isinstance(
            exc, litellm.AuthenticationError | litellm.PermissionDeniedError
        ):
            refused = "the credentials" if status != 403 else "access"
            return LLMAuthError(
                f"{model} refused {refused} ({self._key_names(target)}): {cause}",
                hint="check the key for this provider, or pick another model with AISCI_MODELS__"
                + role.upper(),
                **where,
            )
        if status == 404 or isinstance(exc, litellm.NotFoundError):
            return LLMModelNotFound(
                f"{model} is not a model this provider serves: {cause}", MODEL_HINT, **where
            )
        if isinstance(exc, litellm.BadRequestError | litellm.UnprocessableEntityError):
            return LLMRequestError(
                f"{model} rejected the request: {cause}",
                hint="the request is in the transcript; a parameter this model does not support may be why",
                **where,
            )
        if self._transient(litellm, exc):
            return LLMError(
                f"{model} kept failing after {attempts} attempts: {cause}",
                hint="the provider may be down or rate-limiting; running again resumes where this stopped",
                **where,
            )
        failed = LLMError(f"{model} failed: {cause}", hint="the failed request is in the transcript", **where)
        failed.transient = False
        return failed

    def complete_json(
        self,
        role: Role,
        messages: Messages,
        schema: type[T] | dict,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> T | Any:
        """A reply validated against `schema` (a pydantic model, or a JSON schema giving a plain value).

        One repair round, then LLMResponseError with the raw text."""
        target = self.target(role)
        bounds = (LOCAL_MAX_STRING, LOCAL_MAX_ITEMS) if target.local else (None, None)
        json_schema = structured.schema_of(schema, *bounds)
        if self._schema_mode(target):
            fmt = structured.response_format(schema, json_schema)
        else:
            fmt = None
            messages = [*messages, {"role": "user", "content": structured.instructions(json_schema)}]
        reply = self.complete(
            role, messages, temperature=temperature, max_tokens=max_tokens, response_format=fmt
        )
        try:
            return structured.parse(reply.text, schema)
        except ValueError as first:
            messages = [
                *messages,
                {"role": "assistant", "content": reply.text},
                {"role": "user", "content": structured.repair_request(str(first), json_schema)},
            ]
        reply = self.complete(
            role, messages, temperature=temperature, max_tokens=max_tokens, response_format=fmt
        )
        try:
            return structured.parse(reply.text, schema)
        except ValueError as second:
            name = structured.name_of(schema)
            raise LLMResponseError(
                f"{reply.model} ({role}) gave no valid {name} after a repair round: {second}",
                raw=reply.text,
                hint="the raw reply is in the transcript; a stronger model may help",
            ) from None

    def _schema_mode(self, target: Target) -> bool:
        mode = self.settings.llm.structured_output
        if mode != "auto":
            return mode == "schema"
        if target.local:
            return True
        try:
            return bool(_litellm().supports_response_schema(model=target.model))
        except Exception:
            return False

    def check_ready(self, role: Role) -> None:
        """Raise what a call for `role` would meet before sending: an unknown provider, a missing key."""
        self._check_key(self.target(role))

    def _check_key(self, target: Target) -> None:
        """Fail before the first call, not after paying for others, when the provider is unknown or its key
        is missing."""
        if target.model in self._checked_keys:
            return
        litellm = _litellm()
        try:
            litellm.get_llm_provider(model=target.model)
        except Exception:
            raise LLMModelNotFound(
                f"{target.model} names no provider litellm knows", MODEL_HINT, model=target.model
            ) from None
        if target.endpoint:
            self._checked_keys.add(target.model)
            return
        missing = litellm.validate_environment(model=target.model).get("missing_keys") or []
        if missing:
            raise LLMAuthError(
                f"{target.model} needs {', '.join(missing)}, which is not set",
                hint="export it in the environment or .env, or choose another model",
            )
        self._checked_keys.add(target.model)

    def _key_names(self, target: Target) -> str:
        if target.endpoint:
            return "AISCI_LLM__API_KEY"
        provider = target.model.split("/", 1)[0] if "/" in target.model else "openai"
        return f"{provider.upper()}_API_KEY"

    def _prompt_tokens(self, litellm: Any, target: Target, messages: Messages) -> int:
        try:
            return int(litellm.token_counter(model=target.model, messages=messages))
        except Exception:
            return len(json.dumps(messages, default=str)) // 3 + 1

    def _worst_case(self, litellm: Any, target: Target, messages: Messages, max_tokens: int | None) -> float:
        """The most a call can cost: its prompt plus `max_tokens` (else the model's output limit), priced."""
        if target.local or target.model in self._unpriced:
            return 0.0
        try:
            info = litellm.get_model_info(model=target.model)
            output = max_tokens or int(info.get("max_output_tokens") or info.get("max_tokens") or 0)
            prompt_cost, output_cost = litellm.cost_per_token(
                model=target.model,
                prompt_tokens=self._prompt_tokens(litellm, target, messages),
                completion_tokens=output,
            )
        except Exception:
            return 0.0  # no price known: the call counts $0 (`_cost` warns once)
        return float(prompt_cost + output_cost)

    def _longest_call_s(self) -> float:
        """How long a call with all its retries can take; a reservation older than this is stale."""
        llm = self.settings.llm
        return (llm.timeout_s + MAX_BACKOFF_S) * (llm.max_retries + 1) + 60

    def _cost(self, litellm: Any, response: Any, model: str) -> float:
        if model in self._unpriced:
            return 0.0
        try:
            return float(litellm.completion_cost(completion_response=response, model=model))
        except Exception:
            if model not in self._unpriced:
                self._unpriced.add(model)
                log.warning("no price known for %s: its calls count $0", model)
            return 0.0

    def _record(
        self,
        role: str,
        target: Target,
        messages: Messages,
        completion: Completion | None,
        started: float,
        attempts: int,
        error: LLMError | None = None,
    ) -> None:
        if self.transcript is None:
            return
        record: dict[str, Any] = {
            "ts": time.time(),
            "role": role,
            "model": completion.model if completion else target.model,
            "messages": messages,
            "reply": completion.text if completion else None,
            "prompt_tokens": completion.prompt_tokens if completion else 0,
            "completion_tokens": completion.completion_tokens if completion else 0,
            "cost_usd": completion.cost_usd if completion else 0.0,
            "latency_s": round(time.monotonic() - started, 4),
            "attempts": attempts,
        }
        if error:
            record["error"] = error.message
            record["error_type"] = type(error).__name__
            record["status"] = error.status
        self.transcript.append(record)


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
