"""A stand-in Semantic Scholar API on loopback: answers queued (status, body) pairs and records requests.

Bodies are JSON values or raw strings; `tests/data/s2/` holds responses in the API's own format. When the
queue runs dry the last answer repeats.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

DATA = Path(__file__).parent / "data" / "s2"


def recorded(name: str) -> Any:
    return json.loads((DATA / f"{name}.json").read_text())


class S2Server:
    def __init__(self, *answers: tuple[int, Any] | tuple[int, Any, dict[str, str]]) -> None:
        self.answers = list(answers)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def queue(self, *answers: tuple[int, Any] | tuple[int, Any, dict[str, str]]) -> None:
        with self._lock:
            self.answers.extend(answers)

    def __enter__(self) -> "S2Server":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _next(self) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        status, body, *headers = answer
        return status, body, headers[0] if headers else {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urlparse(self.path)
                server.requests.append(
                    {
                        "path": url.path,
                        "params": {k: v[0] for k, v in parse_qs(url.query).items()},
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                    }
                )
                status, body, headers = server._next()
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler
