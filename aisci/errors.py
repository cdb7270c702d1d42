"""Errors meant for the user: each message says what went wrong and, where one exists, the fix."""


class AisciError(Exception):
    """Base class; the CLI prints these as `[error] message` without a traceback."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(AisciError):
    """Settings or input that cannot work: caught before anything is spent."""


class BudgetExceeded(AisciError):
    """The run's cost cap is reached; everything produced so far stays on disk."""


class LLMError(AisciError):
    """A model call failed for good (after retries); `model` and the HTTP `status` where there was one.

    `transient` says whether the same call may work later (an outage), so a task is worth retrying."""

    transient = True

    def __init__(
        self, message: str, hint: str | None = None, model: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message, hint)
        self.model = model
        self.status = status


class LLMAuthError(LLMError):
    """The provider refused the credentials or the access (401, 403): retrying cannot help."""

    transient = False


class LLMModelNotFound(LLMError):
    """The model string names no provider litellm knows, or the provider knows no such model (404)."""

    transient = False


class LLMRequestError(LLMError):
    """The provider rejected the request as malformed (400, 422): sending it again cannot help."""

    transient = False


class LLMContextError(LLMRequestError):
    """The prompt does not fit the model's context window: a stage can shorten it and call again.

    `prompt_tokens` is the prompt's size and `window` the model's input limit, each None where unknown."""

    def __init__(
        self,
        message: str,
        prompt_tokens: int | None,
        window: int | None,
        hint: str | None = None,
        model: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, hint, model, status)
        self.prompt_tokens = prompt_tokens
        self.window = window


class LLMResponseError(LLMError):
    """The model's reply could not be used; `raw` keeps its text."""

    transient = False

    def __init__(self, message: str, raw: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.raw = raw


class SandboxError(AisciError):
    """The sandbox itself cannot work (no engine, no image, bad paths); the experiment never started."""


class FinalInfoError(SandboxError):
    """An experiment's `final_info.json` is missing, unsafe or malformed: the run counts as failed."""


class ExperimentFailed(AisciError):
    """An idea's experiments cannot go on (baseline broken, every attempt failed, plots impossible)."""


class TemplateError(AisciError):
    """A research template cannot be found or used (unknown name, broken contract, failed baseline)."""


class WriteupFailed(AisciError):
    """The paper could not be produced."""
