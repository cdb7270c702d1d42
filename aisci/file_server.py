"""The workspace served read-only over HTTP on loopback: the Prefect UI shows figures and links papers only
by URL. GET and HEAD of files only; no listings, and nothing under a dot folder (the server's database)."""

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _ReadOnly(SimpleHTTPRequestHandler):
    def send_head(self):
        root = Path(self.directory).resolve()
        target = Path(self.translate_path(self.path)).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            self.send_error(404)
            return None
        if any(part.startswith(".") for part in target.relative_to(root).parts):
            self.send_error(404)
            return None
        return super().send_head()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a page of figures is many requests."""


def serve(root: Path, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Serving from a daemon thread until `shutdown()`."""
    server = ThreadingHTTPServer((host, port), partial(_ReadOnly, directory=str(root)))
    threading.Thread(target=server.serve_forever, name="aisci-files", daemon=True).start()
    return server
