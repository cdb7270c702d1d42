"""A stand-in Semantic Scholar API on loopback: answers queued (status, body) pairs and records requests.

Bodies are JSON values or raw strings; `tests/data/s2/` holds responses in the API's own format. When the
queue runs dry the last answer repeats.
"""

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from loopback import Answer, LoopbackServer

DATA = Path(__file__).parent / "data" / "s2"


def recorded(name: str) -> Any:
    return json.loads((DATA / f"{name}.json").read_text())


class S2Server(LoopbackServer):
    def __init__(self, *answers: tuple[int, Any] | Answer) -> None:
        super().__init__()
        self.answers = list(answers)

    def queue(self, *answers: tuple[int, Any] | Answer) -> None:
        with self._lock:
            self.answers.extend(answers)

    def respond(self, request: BaseHTTPRequestHandler) -> Answer:
        url = urlparse(request.path)
        self.record(request, path=url.path, params={k: v[0] for k, v in parse_qs(url.query).items()})
        with self._lock:
            answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        status, body, *headers = answer
        return status, body, headers[0] if headers else {}
