"""The run's transcript: one JSON line per model exchange, secrets redacted before anything is written."""

import json
import os
import re
import weakref
from pathlib import Path
from typing import Any

SECRET_SUFFIXES = ("_KEY", "_TOKEN", "_SECRET", "_PASSWORD")
REDACTED = "[redacted]"


TRANSCRIPT = "transcript.jsonl"
MIN_SECRET = 8  # shorter values would redact ordinary words


def secret_values(extra: list[str] | None = None) -> list[str]:
    """Values that must never reach disk, as the environment holds them now: every credential-looking
    variable, every password inside a URL-valued variable, plus the ones given. Each also in its JSON-escaped
    form, as it appears inside a transcript line."""
    found = [v for k, v in os.environ.items() if k.upper().endswith(SECRET_SUFFIXES)]
    found += [url_password(v) or "" for v in os.environ.values() if "@" in v]
    found += extra or []
    found = [v for v in found if len(v) >= MIN_SECRET]
    found += [json.dumps(v, ensure_ascii=False)[1:-1] for v in found]
    return sorted(set(found), key=len, reverse=True)


def url_password(value: str) -> str | None:
    """The password (or token) a URL carries in its user part, as in `s3://user:pw@host`."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if not parts.netloc or "@" not in parts.netloc:
        return None
    userinfo = parts.netloc.rsplit("@", 1)[0]
    return userinfo.partition(":")[2] or userinfo


def without_images(record: dict[str, Any]) -> dict[str, Any]:
    """The record with each inline image (a base64 data URL) replaced by a placeholder naming its file, taken
    from the text part just before it, where the sender names it."""
    messages = record.get("messages")
    if not isinstance(messages, list) or not any(isinstance(m.get("content"), list) for m in messages):
        return record
    return {**record, "messages": [_message_without_images(m) for m in messages]}


def _message_without_images(message: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(message.get("content"), list):
        return message
    parts, before = [], ""
    for part in message["content"]:
        if not isinstance(part, dict):
            parts.append(part)
            continue
        url = part.get("image_url", {}).get("url", "") if part.get("type") == "image_url" else ""
        if url.startswith("data:"):
            named = re.findall(r"[\w./-]+\.(?:png|jpe?g|gif|webp)", before)
            name = named[-1] if named else "an image"
            placeholder = f"[{name}: {len(url)} characters of image data]"
            part = {"type": "image_url", "image_url": {"url": placeholder}}
        before = part.get("text", "") if part.get("type") == "text" else ""
        parts.append(part)
    return {**message, "content": parts}


class Transcript:
    def __init__(self, path: Path, secrets: list[str]) -> None:
        self.path = path
        self.secrets = secrets
        self._fd: int | None = None
        self._environment: dict | None = None  # as of the last lookup of the secrets
        self._redacted: list[str] = []

    def append(self, record: dict[str, Any]) -> None:
        """One write of one whole line to an O_APPEND file: lines from concurrent writers never interleave.

        Secrets are looked up at each write: a key loaded after the transcript was opened is redacted too."""
        line = json.dumps(without_images(record), ensure_ascii=False, default=str)
        for secret in self._secret_values():
            line = line.replace(secret, REDACTED)
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            weakref.finalize(self, os.close, self._fd)
        os.write(self._fd, (line + "\n").encode("utf-8"))

    def _secret_values(self) -> list[str]:
        """`secret_values`, looked up again only when the environment changed since the last write.

        Comparing the mapping behind `os.environ` (every assignment updates it) takes under a microsecond;
        scanning every variable takes tens, on each call the gateway makes."""
        if self._environment != os.environ._data:
            self._environment = dict(os.environ._data)
            self._redacted = secret_values(self.secrets)
        return self._redacted

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
    return sum(Transcript(path, []).spent_usd() for path in folder.rglob(TRANSCRIPT))
