"""Options several commands share, and the one way a command runs a flow."""

from pathlib import Path
from typing import Annotated, Any

import typer

Workspace = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Workspace folder (default: settings, env AISCI_WORKSPACE)."),
]


def settings_for(workspace: Path | None):
    """The effective settings, with --workspace applied when given.

    The override goes through the environment, so flows and tasks that call `get_settings()` see it too.
    """
    import os

    from aisci.settings import get_settings

    if workspace:
        os.environ["AISCI_WORKSPACE"] = str(workspace)
        get_settings.cache_clear()
    return get_settings()


def gpu_ids(text: str | None) -> list[int] | None:
    """`0,1` → [0, 1]."""
    if not text:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a list of device ids like 0,1", param_hint="--gpus"
        ) from None


def run_flow(entry: str, workspace: Path | None, *args: Any, **kwargs: Any) -> Any:
    """Run the flow `module:name` in this process and return its result.

    Prefect reads its settings once, when it is imported, so aisci's are applied to the environment first
    and the flow's module is imported only then. The flow's own error is raised as itself, so an aisci error
    is printed as its one line by `aisci.cli.main`, never as Prefect's traceback."""
    import importlib

    from aisci import prefect_env

    prefect_env.apply(settings_for(workspace))
    module, name = entry.split(":")
    flow = getattr(importlib.import_module(module), name)
    result = flow(*args, return_state=True, **kwargs).result(raise_on_failure=False)
    if isinstance(result, BaseException):
        raise result
    return result
