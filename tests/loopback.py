"""A JSON HTTP server on a free loopback port, serving from a thread for the length of a `with` block.

Subclasses say how to answer one request; the real client under test talks to it over real HTTP.
"""

import json
import socket
import threading
from abc import ABC, abstractmethod
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


Answer = tuple[int, Any, dict[str, str]]  # status, JSON value or raw string, extra headers


class LoopbackServer(ABC):
    url_path = ""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{self.url_path}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @abstractmethod
    def respond(self, request: BaseHTTPRequestHandler) -> Answer:
        """The answer to one request (GET or POST); `record` it first for the test to see."""

    def record(self, request: BaseHTTPRequestHandler, **fields: Any) -> None:
        """Kept in `requests`, with the headers in lower case, for the test to inspect."""
        self.requests.append({**fields, "headers": {k.lower(): v for k, v in request.headers.items()}})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                status, payload, headers = server.respond(self)
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET

        return Handler
