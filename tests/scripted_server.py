"""A scripted OpenAI-compatible chat server on loopback, so tests drive litellm's real HTTP client path.

A script is a list of rules, tried in order; the first that matches the request and has uses left answers:

    {"reply": "text"}                         a normal completion
    {"role": "review", "reply": "..."}         only for calls made for that aisci role (X-Aisci-Role header)
    {"contains": "Title:", "reply": "..."}     only when some message contains the substring
    {"status": 429, "times": 1}                an HTTP error with an OpenAI-style error body
    {"raw": "not json", "times": 1}            a malformed body with status 200
    {"usage": [1000, 500], "reply": "..."}     the token counts to report

`times` limits how often a rule answers (default: always). A request no rule answers gets a 500 that names it.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class ScriptedServer:
    def __init__(self, script: list[dict[str, Any]] | Path | str) -> None:
        if isinstance(script, Path | str):
            script = json.loads(Path(script).read_text())
        self.rules = [dict(rule) for rule in script]
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> "ScriptedServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def add(self, *rules: dict[str, Any]) -> None:
        with self._lock:
            self.rules[:0] = [dict(rule) for rule in rules]

    def _pick(self, body: dict[str, Any], role: str | None) -> dict[str, Any] | None:
        text = json.dumps(body.get("messages", []))
        with self._lock:
            for rule in self.rules:
                if rule.get("times", 1) <= 0:
                    continue
                if "role" in rule and rule["role"] != role:
                    continue
                if "contains" in rule and rule["contains"] not in text:
                    continue
                if "times" in rule:
                    rule["times"] -= 1
                return rule
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                role = self.headers.get("X-Aisci-Role")
                server.requests.append(
                    {
                        "path": self.path,
                        "body": body,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                    }
                )
                rule = server._pick(body, role)
                if rule is None:
                    self._send(
                        500, {"error": {"message": f"no scripted reply for role={role}", "type": "script"}}
                    )
                elif "status" in rule:
                    message = rule.get("message", f"scripted {rule['status']}")
                    self._send(rule["status"], {"error": {"message": message, "type": "scripted"}})
                elif "raw" in rule:
                    self._send(200, rule["raw"])
                else:
                    prompt, completion = rule.get(
                        "usage", [len(json.dumps(body)) // 4, len(rule["reply"]) // 4]
                    )
                    self._send(
                        200, _completion(body.get("model", "scripted"), rule["reply"], prompt, completion)
                    )

            def _send(self, status: int, payload: Any) -> None:
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _completion(model: str, text: str, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
