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
    """A model call failed for good (after retries)."""


class LLMAuthError(LLMError):
    """The provider refused the credentials: retrying cannot help."""


class LLMResponseError(LLMError):
    """The model's reply could not be used; `raw` keeps its text."""

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
