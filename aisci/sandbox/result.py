"""The record every sandboxed run returns, and the bounded buffer its output tails are kept in."""

from typing import Literal

from pydantic import BaseModel

Status = Literal["ok", "failed", "timeout", "oom", "error"]

TAIL_BYTES = 16_000


class SandboxResult(BaseModel):
    """A run's outcome as data: the experiment failing is a result, not an exception."""

    status: Status
    returncode: int | None
    duration_s: float
    stdout_tail: str
    stderr_tail: str
    message: str = ""


class Tail:
    """Keeps the last `limit` bytes of a stream, however much passes through it."""

    def __init__(self, limit: int = TAIL_BYTES) -> None:
        self.limit = limit
        self.total = 0
        self._buf = bytearray()

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        self._buf += data[-self.limit :]
        if len(self._buf) > 2 * self.limit:
            del self._buf[: -self.limit]

    def text(self) -> str:
        data = bytes(self._buf[-self.limit :])
        dropped = self.total - len(data)
        prefix = f"[... {dropped} earlier bytes dropped ...]\n" if dropped else ""
        return prefix + data.decode("utf-8", errors="replace")
