"""The run's transcript: one JSON line per model exchange, secrets redacted before anything is written."""

import json
import os
import weakref
from pathlib import Path
from typing import Any

SECRET_SUFFIXES = ("_KEY", "_TOKEN", "_SECRET", "_PASSWORD")
REDACTED = "[redacted]"


def secret_values(extra: list[str] | None = None) -> list[str]:
    """Values that must never reach disk: every credential-looking env var, plus the ones given."""
    found = [v for k, v in os.environ.items() if k.upper().endswith(SECRET_SUFFIXES) and len(v) >= 8]
    found += [v for v in extra or [] if v and len(v) >= 8]
    return sorted(set(found), key=len, reverse=True)


class Transcript:
    def __init__(self, path: Path, secrets: list[str]) -> None:
        self.path = path
        self.secrets = secrets
        self._fd: int | None = None

    def append(self, record: dict[str, Any]) -> None:
        """One write of one whole line to an O_APPEND file: lines from concurrent writers never interleave."""
        line = json.dumps(record, ensure_ascii=False, default=str)
        for secret in self.secrets:
            line = line.replace(secret, REDACTED)
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            weakref.finalize(self, os.close, self._fd)
        os.write(self._fd, (line + "\n").encode("utf-8"))

    def spent_usd(self) -> float:
        """What earlier exchanges of this run cost, so a resumed run keeps counting against its budget."""
        if not self.path.exists():
            return 0.0
        total = 0.0
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                total += float(json.loads(line).get("cost_usd") or 0.0)
            except (json.JSONDecodeError, AttributeError, TypeError, ValueError):
                continue
        return total


def spent_under(folder: Path) -> float:
    """What every transcript below `folder` cost: a sweep's spend across all its ideas."""
    return sum(Transcript(path, []).spent_usd() for path in folder.rglob("transcript.jsonl"))
