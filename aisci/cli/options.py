"""Options several commands share."""

from pathlib import Path
from typing import Annotated

import typer

Workspace = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Workspace folder (default: settings, env AISCI_WORKSPACE)."),
]


def settings_for(workspace: Path | None):
    """The effective settings, with --workspace applied when given."""
    from aisci.settings import get_settings

    settings = get_settings()
    return settings.model_copy(update={"workspace": workspace}) if workspace else settings
