"""What the gateway needs from a model API. `LiteLLMProvider` is the one every run uses; a provider of one's
own (a fake answering in process, for tests of prompt logic) goes through the same request building,
retries, budget ledger and transcript."""

from dataclasses import dataclass
from typing import Literal, Protocol

from aisci.llm.request import Messages, Request, Target


@dataclass
class Reply:
    """What the model sent back, with what it cost."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cut_off: bool = False  # it stopped at its token limit


FailureKind = Literal["too_large", "auth", "not_found", "rejected", "transient", "other"]


@dataclass
class Failure:
    """A provider's exception in the gateway's terms, from which it words the error for the user.

    `retry`: another attempt may work (rate limit, timeout, lost connection, 5xx). `answered`: False when
    the provider took the request and never answered (a timeout), so it may have billed it. `window` and
    `prompt_tokens` are the numbers a too-large error states, where it states them."""

    kind: FailureKind
    retry: bool
    cause: str  # the provider's own words, one line
    status: int | None = None
    window: int | None = None
    prompt_tokens: int | None = None
    answered: bool = True


class Provider(Protocol):
    def check(self, target: Target) -> None:
        """Raise LLMModelNotFound or LLMAuthError when no call to `target` can work (unknown provider,
        missing key), before anything is spent."""

    def send(self, request: Request) -> Reply:
        """One attempt, no retries; a provider error is raised as it is, for `failure` to read."""

    def failure(self, exc: Exception) -> Failure:
        """What an exception `send` raised means."""

    def worst_case_usd(self, request: Request) -> float:
        """The most the request can cost (its prompt plus its reply limit), 0 where no price is known."""

    def context_window(self, model: str) -> int | None:
        """Input tokens the model accepts; None where unknown."""

    def count_tokens(self, model: str, text: str | None = None, messages: Messages | None = None) -> int:
        """Tokens of `text`, or of `messages` as a prompt."""

    def supports_images(self, model: str) -> bool: ...

    def supports_schema(self, model: str) -> bool:
        """Whether the model takes a JSON schema as `response_format`."""
