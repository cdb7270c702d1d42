"""Which files in an idea's folder the model may edit or create.

The model's code runs in the sandbox, but its edits are written on the host: a path must stay inside the
code folder, follow no symlink and leave the run folders (the measured results) alone. notes.txt is aisci's:
the model reaches it only through the label and description of its reply.
"""

import re
from pathlib import Path, PurePosixPath

EDITABLE = {"experiment.py", "plot.py"}
RUN_FOLDER = re.compile(r"^run_\d+")


class PathRefused(ValueError):
    """A path the model may not write; the message is written for the model."""


def resolve_editable(code_dir: Path, name: str) -> Path:
    """The host path for `name`, or PathRefused saying why not."""
    name = name.strip().strip("`").strip()
    posix = PurePosixPath(name)
    if not name or posix.is_absolute() or name.startswith("~"):
        raise PathRefused(f"{name!r}: use a path relative to the code folder, such as experiment.py")
    if ".." in posix.parts:
        raise PathRefused(f"{name!r}: '..' is not allowed; edit files inside the code folder only")
    if RUN_FOLDER.match(posix.parts[0]):
        raise PathRefused(f"{name!r}: run folders hold measured results and cannot be edited")
    if name not in EDITABLE and posix.suffix != ".py":
        raise PathRefused(f"{name!r}: only experiment.py, plot.py and new Python modules may be edited")
    path = code_dir
    for part in posix.parts:
        path = path / part
        if path.is_symlink():
            raise PathRefused(f"{name!r}: {part} is a symlink; symlinks are never followed")
    return path
