"""Reading what an experiment left in its output folder, from the host, without trusting it.

The code that wrote the folder is hostile by assumption: it may plant symlinks to host files, FIFOs that block
a reader, or files of any size. Every read here opens the folder and the file with O_NOFOLLOW, accepts only
regular files, and reads at most a size cap.
"""

import json
import os
import stat
from pathlib import Path
from typing import Any

from aisci.errors import FinalInfoError

FINAL_INFO = "final_info.json"
MAX_FINAL_INFO_BYTES = 1 << 20


def read_output_file(out_dir: Path, name: str, max_bytes: int) -> bytes:
    """The bytes of `out_dir/name` (a plain file name); refuses symlinks, non-regular and oversize files."""
    if "/" in name or name in ("", ".", ".."):
        raise FinalInfoError(f"{name!r} is not a plain file name")
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        dir_fd = os.open(out_dir, flags | os.O_DIRECTORY)
    except FileNotFoundError:
        raise FinalInfoError(f"the output folder {out_dir} does not exist") from None
    except OSError:
        raise FinalInfoError(f"the output folder {out_dir} is not a real folder (a symlink?)") from None
    try:
        try:
            fd = os.open(name, flags | os.O_NONBLOCK, dir_fd=dir_fd)
        except FileNotFoundError:
            raise FinalInfoError(f"the experiment wrote no {name} in {out_dir.name}/") from None
        except OSError:
            raise FinalInfoError(
                f"{out_dir.name}/{name} is a symlink or unreadable; it was not followed"
            ) from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise FinalInfoError(f"{out_dir.name}/{name} is not a regular file")
            if info.st_size > max_bytes:
                raise FinalInfoError(
                    f"{out_dir.name}/{name} is {info.st_size} bytes, over the {max_bytes}-byte cap"
                )
            with os.fdopen(fd, "rb", closefd=False) as handle:
                data = handle.read(max_bytes + 1)
        finally:
            os.close(fd)
    finally:
        os.close(dir_fd)
    if len(data) > max_bytes:
        raise FinalInfoError(f"{out_dir.name}/{name} grew past the {max_bytes}-byte cap while being read")
    return data


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def read_final_info(out_dir: Path, max_bytes: int = MAX_FINAL_INFO_BYTES) -> dict[str, Any]:
    """`out_dir/final_info.json` checked against the template contract `{group: {"means": {metric: number}}}`.

    Raises FinalInfoError with a message fit to show the coding model; callers record the run as failed.
    """
    raw = read_output_file(Path(out_dir), FINAL_INFO, max_bytes)
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FinalInfoError(f"{FINAL_INFO} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not data:
        raise FinalInfoError(
            f'{FINAL_INFO} must be a non-empty object {{group: {{"means": {{metric: number}}}}}}'
        )
    for group, entry in data.items():
        means = entry.get("means") if isinstance(entry, dict) else None
        if not isinstance(means, dict):
            raise FinalInfoError(f'{FINAL_INFO}: group {group!r} needs a "means" object of metric -> number')
        bad = [metric for metric, value in means.items() if not _is_number(value)]
        if bad:
            raise FinalInfoError(f"{FINAL_INFO}: group {group!r} has non-numeric means for {', '.join(bad)}")
    return data
