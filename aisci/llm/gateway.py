"""The LLM gateway: the one place that calls litellm.

Every call goes through roles (ideation, coding, writing, review) so each stage can use its own model; the
gateway retries transient failures, counts tokens and cost, stops at the run's budget and appends each
exchange to the run's transcript.
"""

import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from aisci.errors import BudgetExceeded, LLMAuthError, LLMError, LLMResponseError
from aisci.llm import local, structured
from aisci.llm.transcript import Transcript, secret_values
from aisci.settings import LOCAL_MODEL, Role, Settings

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


def _litellm():
    """Import litellm on first use: it is slow to import, and must not fetch its price map online."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
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
        secrets = [s.get_secret_value() for s in (settings.llm.api_key, settings.s2_api_key) if s is not None]
        self.transcript = (
            Transcript(run_dir / "transcript.jsonl", secret_values(secrets)) if run_dir else None
        )
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
        """One chat completion, retried on transient errors, counted and written to the transcript."""
        if self.budget_usd and self.spent_usd >= self.budget_usd:
            raise BudgetExceeded(
                f"the run has spent ${self.spent_usd:.4f} of its ${self.budget_usd:.2f} budget",
                hint="everything so far is saved; resume with a higher AISCI_BUDGET_USD",
            )
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

        started = time.monotonic()
        attempts = 0
        while True:
            attempts += 1
            try:
                response = litellm.completion(**kwargs)
                break
            except litellm.AuthenticationError as exc:
                self._record(role, target, messages, None, started, attempts, error=str(exc))
                raise LLMAuthError(
                    f"{target.model} refused the credentials ({self._key_names(target)}): {_first_line(exc)}",
                    hint="check the key for this provider, or pick another model with AISCI_MODELS__"
                    + role.upper(),
                ) from None
            except tuple(getattr(litellm, n) for n in RETRYABLE) as exc:
                if attempts > self.settings.llm.max_retries:
                    self._record(role, target, messages, None, started, attempts, error=str(exc))
                    raise LLMError(
                        f"{target.model} kept failing after {attempts} attempts: {_first_line(exc)}"
                    ) from None
                delay = self.settings.llm.retry_base_delay_s * 2 ** (attempts - 1) * random.uniform(0.5, 1.5)
                log.warning("%s: %s; retrying in %.1fs", target.model, type(exc).__name__, delay)
                self._sleep(min(delay, MAX_BACKOFF_S))
            except litellm.APIError as exc:
                self._record(role, target, messages, None, started, attempts, error=str(exc))
                raise LLMError(f"{target.model} failed: {_first_line(exc)}") from None

        completion = Completion(
            role=role,
            model=self.settings.model_for(role),
            text=response.choices[0].message.content or "",
            prompt_tokens=getattr(response.usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(response.usage, "completion_tokens", 0) or 0,
            cost_usd=0.0 if target.local else self._cost(litellm, response, target.model),
            latency_s=time.monotonic() - started,
        )
        self.spent_usd += completion.cost_usd
        usage = self.usage.setdefault(role, RoleUsage())
        usage.calls += 1
        usage.prompt_tokens += completion.prompt_tokens
        usage.completion_tokens += completion.completion_tokens
        usage.cost_usd += completion.cost_usd
        self._record(role, target, messages, completion, started, attempts)
        return completion

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

    def _check_key(self, target: Target) -> None:
        """Fail before the first call, not after paying for others, when a provider's key is missing."""
        if target.endpoint or target.model in self._checked_keys:
            return
        missing = _litellm().validate_environment(model=target.model).get("missing_keys") or []
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
        error: str | None = None,
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
            record["error"] = error
        self.transcript.append(record)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
