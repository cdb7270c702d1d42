"""Options several commands share."""

from pathlib import Path
from typing import Annotated

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
