"""Retry policy shared by every stage's tasks.

Transient failures (a provider outage that outlasted the gateway's own retries, a network or Docker hiccup)
are retried with exponential backoff and jitter. Deterministic ones — bad input, a missing key, an exhausted
budget, a model that cannot produce valid output — fail at once: retrying would only spend money.
"""

from typing import Any

from prefect.tasks import exponential_backoff

from aisci.errors import AisciError, LLMError


def is_transient(task: Any, task_run: Any, state: Any) -> bool:
    exc = state.result(raise_on_failure=False)
    if isinstance(exc, LLMError):
        return exc.transient
    if isinstance(exc, AisciError):
        return False
    # network, disk and Docker API faults (TimeoutError included) are OSErrors; anything else is a bug
    return isinstance(exc, OSError)


TRANSIENT_RETRIES: dict[str, Any] = {
    "retries": 2,
    "retry_delay_seconds": exponential_backoff(backoff_factor=30),
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": is_transient,
}
