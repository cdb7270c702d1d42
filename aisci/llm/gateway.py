"""The LLM gateway: every model call of a stage goes through it.

Every call goes through roles (ideation, coding, writing, review) so each stage can use its own model; the
gateway retries transient failures, turns every provider error into an aisci error, counts tokens and cost,
reserves each call's worst case against the run's budget ledger before sending it, and appends each exchange,
failed ones included, to the run's transcript. The provider (litellm's, unless another is given) carries
the call and knows the models' windows, tokenizers and prices.
"""

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
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
from aisci.llm import local, request, structured
from aisci.llm.accounting import Accounting, Completion, RoleUsage
from aisci.llm.litellm_provider import MODEL_HINT, LiteLLMProvider
from aisci.llm.provider import Failure, Provider
from aisci.llm.request import Messages, Request, Target
from aisci.settings import Role, Settings

log = logging.getLogger("aisci.llm")

T = TypeVar("T", bound=BaseModel)

MAX_BACKOFF_S = 60.0
DEFAULT_CONTEXT_TOKENS = 8192  # a model the provider does not know: assume a small window, not a large one


@dataclass
class Sent:
    """How one call's attempts ended, for its settlement: the completion, if any, and how many attempts the
    provider took without answering."""

    completion: Completion | None = None
    unanswered: int = 0


class Gateway:
    """Model calls of one run. `run_dir` holds `transcript.jsonl`; without it nothing is written."""

    def __init__(
        self,
        settings: Settings,
        run_dir: Path | None = None,
        budget_usd: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        provider: Provider | None = None,
    ) -> None:
        self.settings = settings
        self.budget_usd = settings.budget_usd if budget_usd is None else budget_usd
        self.accounting = Accounting(settings, run_dir)
        self.provider: Provider = provider or LiteLLMProvider()
        self._sleep = sleep

    @property
    def spent_usd(self) -> float:
        """What this run's calls cost, earlier exchanges in its transcript included."""
        return self.accounting.spent_usd

    @property
    def usage(self) -> dict[str, RoleUsage]:
        return self.accounting.usage

    def target(self, role: Role) -> Target:
        return request.target_for(self.settings, role)

    def context_window(self, role: Role, default: int = DEFAULT_CONTEXT_TOKENS) -> int:
        """Input tokens the role's model accepts, so each stage can budget what it sends; `default` for a
        model the provider does not know."""
        target = self.target(role)
        if target.local:
            return local.CONTEXT_TOKENS
        return self.provider.context_window(target.model) or default

    def supports_images(self, role: Role) -> bool:
        """Whether the role's model accepts image content parts (litellm's model map; unknown models: no)."""
        target = self.target(role)
        return not target.local and self.provider.supports_images(target.model)

    def count_tokens(self, role: Role, text: str) -> int:
        """Tokens of `text` for the role's model (litellm's tokenizer; an estimate for unknown models)."""
        return self.provider.count_tokens(self.target(role).model, text=text)

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
        self.provider.check(target)
        call = request.build(
            target,
            role,
            messages,
            timeout_s=self.settings.llm.timeout_s,
            temperature=temperature,
            max_tokens=max_tokens,
            response_format=response_format,
        )
        worst_usd = self.provider.worst_case_usd(call)
        reservation = self.accounting.reserve(
            worst_usd, self.budget_usd, self.settings.idea_budget_usd, ttl_s=self._longest_call_s()
        )
        sent = Sent()
        try:
            completion = self._send(call, sent)
        finally:
            self.accounting.settle(reservation, sent.completion, sent.unanswered * worst_usd)
        return completion

    def _send(self, call: Request, sent: Sent) -> Completion:
        """The request with its retries, recorded in the transcript; a failure is raised as an aisci error.
        `sent` keeps what the books need however it ends: the completion, and the unanswered attempts."""
        started = time.monotonic()
        attempts = 0
        while True:
            attempts += 1
            try:
                reply = self.provider.send(call)
                break
            except Exception as exc:
                failure = self.provider.failure(exc)
                sent.unanswered += not failure.answered
                if failure.retry and attempts <= self.settings.llm.max_retries:
                    delay = (
                        self.settings.llm.retry_base_delay_s * 2 ** (attempts - 1) * random.uniform(0.5, 1.5)
                    )
                    log.warning("%s: %s; retrying in %.1fs", call.target.model, type(exc).__name__, delay)
                    self._sleep(min(delay, MAX_BACKOFF_S))
                    continue
                error = self._error(failure, call, attempts)
                self.accounting.record(call, None, started, attempts, error=error)
                raise error from None

        sent.completion = Completion(
            role=call.role,
            model=self.settings.model_for(call.role),
            text=reply.text,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            cost_usd=reply.cost_usd,
            latency_s=time.monotonic() - started,
            cut_off=reply.cut_off,
        )
        self.accounting.record(call, sent.completion, started, attempts)
        return sent.completion

    def _error(self, failure: Failure, call: Request, attempts: int) -> LLMError:
        """The aisci error for a failed call: one line saying what went wrong, and a hint."""
        role, target, cause = call.role, call.target, failure.cause
        model = target.model
        where = {"model": model, "status": failure.status}
        if failure.kind == "too_large":
            window = self.context_window(role) if failure.window is None else failure.window
            prompt = failure.prompt_tokens
            if prompt is None:
                prompt = self.provider.count_tokens(model, messages=call.messages)
            return LLMContextError(
                f"{model} cannot take a prompt of about {prompt} tokens (its window is {window}): {cause}",
                prompt_tokens=prompt,
                window=window,
                hint="shorten the prompt, or choose a model with a larger context window",
                **where,
            )
        if failure.kind == "auth":
            refused = "the credentials" if failure.status != 403 else "access"
            return LLMAuthError(
                f"{model} refused {refused} ({self._key_names(target)}): {cause}",
                hint="check the key for this provider, or pick another model with AISCI_MODELS__"
                + role.upper(),
                **where,
            )
        if failure.kind == "not_found":
            return LLMModelNotFound(
                f"{model} is not a model this provider serves: {cause}", MODEL_HINT, **where
            )
        if failure.kind == "rejected":
            return LLMRequestError(
                f"{model} rejected the request: {cause}",
                hint="the request is in the transcript; a parameter this model does not support may be why",
                **where,
            )
        if failure.kind == "transient":
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
        json_schema = self.reply_schema(role, schema, max_tokens)
        if self._schema_mode(target):
            fmt = structured.response_format(schema, json_schema)
        else:
            fmt = None
            messages = [*messages, {"role": "user", "content": structured.instructions(json_schema)}]
        reply = self.complete(
            role, messages, temperature=temperature, max_tokens=max_tokens, response_format=fmt
        )
        try:
            return _parse(reply, schema)
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
            return _parse(reply, schema)
        except ValueError as second:
            name = structured.name_of(schema)
            raise LLMResponseError(
                f"{reply.model} ({role}) gave no valid {name} after a repair round: {second}",
                raw=reply.text,
                hint="the raw reply is in the transcript; a stronger model may help",
            ) from None

    def reply_schema(self, role: Role, schema: type[BaseModel] | dict, max_tokens: int | None = None) -> dict:
        """The JSON schema `complete_json` holds a reply to, for a prompt that states its limits: for the
        embedded model every string and list is bounded so the longest valid reply fits its token limit."""
        if self.target(role).local:
            return local.reply_schema(schema, max_tokens)
        return structured.schema_of(schema)

    def _schema_mode(self, target: Target) -> bool:
        mode = self.settings.llm.structured_output
        if mode != "auto":
            return mode == "schema"
        return target.local or self.provider.supports_schema(target.model)

    def check_ready(self, role: Role) -> None:
        """Raise what a call for `role` would meet before sending: an unknown provider, a missing key."""
        self.provider.check(self.target(role))

    def _key_names(self, target: Target) -> str:
        if target.endpoint:
            return "AISCI_LLM__API_KEY"
        provider = target.model.split("/", 1)[0] if "/" in target.model else "openai"
        return f"{provider.upper()}_API_KEY"

    def _longest_call_s(self) -> float:
        """How long a call with all its retries can take; a reservation older than this is stale."""
        llm = self.settings.llm
        return (llm.timeout_s + MAX_BACKOFF_S) * (llm.max_retries + 1) + 60


def _parse(reply: Completion, schema: type[BaseModel] | dict) -> Any:
    """The validated reply; a reply cut off at its token limit says so, since that is why it is invalid."""
    try:
        return structured.parse(reply.text, schema)
    except ValueError as exc:
        if reply.cut_off:
            raise ValueError(f"{exc}: the reply stopped at its token limit before the JSON closed") from None
        raise
