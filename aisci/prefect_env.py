"""Prefect settings aisci applies itself, so every flow runs on the embedded ephemeral API with no set-up.

Prefect reads its settings from the environment once, when it is first imported, so `apply()` runs at the
entry points before anything imports Prefect: each CLI command that starts Prefect
(`aisci.cli.options.run_flow`, `aisci deploy`, `aisci up`, and `aisci worker`, whose flow runs inherit its
environment) and the test suite's conftest. Values the user already exported win.
"""

import os
from pathlib import Path

from aisci.settings import Settings, get_settings

SLOT_WAIT_S = 5
EPHEMERAL_STARTUP_TIMEOUT_S = 90  # measured 11-26 s per process on 2 cores; leave room under load


def prefect_env(settings: Settings) -> dict[str, str]:
    prefect_home = settings.workspace.expanduser().resolve() / ".prefect"
    env = {
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": str(settings.prefect.analytics).lower(),
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        # Every flow run beats at the rate the crash automation expects; Prefect's default (180 s) is
        # longer than crashed_after_s, so a run in this process would be marked Crashed while alive.
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(settings.prefect.heartbeat_s),
        "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(prefect_home / "results"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": str(EPHEMERAL_STARTUP_TIMEOUT_S),
        # An idea waiting for a sweep slot asks again within 5 s of one freeing, not Prefect's 30 s
        # (this process's embedded server, and the one `aisci up` starts).
        "PREFECT_SERVER_CONCURRENCY_MAXIMUM_CONCURRENCY_SLOT_WAIT_SECONDS": str(SLOT_WAIT_S),
        "PREFECT_LOGGING_LEVEL": "INFO",
        "PREFECT_LOGGING_EXTRA_LOGGERS": "aisci",  # aisci's own warnings show in the flow run's logs
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",  # outside a run they go to the console only
    }
    if settings.prefect.api_url:
        env["PREFECT_API_URL"] = settings.prefect.api_url
    return env


def apply(settings: Settings | None = None) -> None:
    for name, value in prefect_env(settings or get_settings()).items():
        os.environ.setdefault(name, value)
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
