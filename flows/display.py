"""How runs and files appear to a person in the Prefect UI: runs named by sweep and idea, files by URL.

The UI renders images and links only by URL, so workspace files are linked under `prefect.files_url` (the
read-only file route that `aisci up` serves, or any server of the workspace); without one, by their path.
"""

from pathlib import Path
from urllib.parse import quote

from aisci.settings import get_settings


def idea_label(idea_dir: str) -> str:
    """`sweep/idea` for an idea folder, absolute or relative to the workspace."""
    folder = Path(idea_dir)
    return f"{folder.parent.name}/{folder.name}" if folder.parent.name else folder.name


def run_name(prefix: str) -> str:
    """The name of this flow run, from its idea_dir parameter (Prefect calls this as the run starts)."""
    from prefect.runtime import flow_run

    return f"{prefix}-{idea_label(flow_run.parameters['idea_dir'])}"


def file_url(path: str | Path) -> str | None:
    settings = get_settings()
    if not settings.prefect.files_url:
        return None
    try:
        relative = Path(path).resolve().relative_to(settings.workspace.expanduser().resolve())
    except ValueError:
        return None
    return f"{settings.prefect.files_url.rstrip('/')}/{quote(relative.as_posix())}"


def file_link(path: str | Path, label: str) -> str:
    """A markdown link to the file, or its path as code where no URL reaches it."""
    url = file_url(path)
    return f"[{label}]({url})" if url else f"`{path}`"


def image(path: str | Path, alt: str) -> str:
    url = file_url(path)
    return f"![{alt}]({url})" if url else f"`{path}`"


def cell(text: object) -> str:
    """Text safe inside a markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")
