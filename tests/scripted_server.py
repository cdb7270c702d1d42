"""A scripted OpenAI-compatible chat server on loopback, so tests drive litellm's real HTTP client path.

A script is a list of rules, tried in order; the first that matches the request and has uses left answers:

    {"reply": "text"}                         a normal completion
    {"role": "review", "reply": "..."}         only for calls made for that aisci role (X-Aisci-Role header)
    {"contains": "Title:", "reply": "..."}     only when some message contains the substring
    {"status": 429, "times": 1}                an HTTP error with an OpenAI-style error body
    {"status": 400, "code": "...", "message": "..."}   ... with its `code` (also `type`, `param`)
    {"raw": "not json", "times": 1}            a malformed body with status 200
    {"usage": [1000, 500], "reply": "..."}     the token counts to report
    {"delay_s": 0.2, "reply": "..."}           answered after a delay, like a model that takes its time
    {"finish_reason": "length", "reply": "..."}   a reply cut off at its token limit (default "stop")

`times` limits how often a rule answers (default: always). A request no rule answers gets a 500 that names it.
"""

import json
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from loopback import Answer, LoopbackServer


class ScriptedServer(LoopbackServer):
    url_path = "/v1"

    def __init__(self, script: list[dict[str, Any]] | Path | str) -> None:
        super().__init__()
        if isinstance(script, Path | str):
            script = json.loads(Path(script).read_text())
        self.rules = [dict(rule) for rule in script]

    def add(self, *rules: dict[str, Any]) -> None:
        with self._lock:
            self.rules[:0] = [dict(rule) for rule in rules]

    def respond(self, request: BaseHTTPRequestHandler) -> Answer:
        body = json.loads(request.rfile.read(int(request.headers.get("Content-Length", 0))) or b"{}")
        role = request.headers.get("X-Aisci-Role")
        self.record(request, path=request.path, body=body)
        rule = self._pick(body, role)
        if rule is None:
            return 500, {"error": {"message": f"no scripted reply for role={role}", "type": "script"}}, {}
        if "status" in rule:
            error = {"message": rule.get("message", f"scripted {rule['status']}"), "type": "scripted"}
            error |= {k: rule[k] for k in ("type", "code", "param") if k in rule}
            return rule["status"], {"error": error}, {}
        time.sleep(rule.get("delay_s", 0))
        if "raw" in rule:
            return 200, rule["raw"], {}
        prompt, completion = rule.get("usage", [len(json.dumps(body)) // 4, len(rule["reply"]) // 4])
        finish = rule.get("finish_reason", "stop")
        return 200, _completion(body.get("model", "scripted"), rule["reply"], prompt, completion, finish), {}

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


def _completion(
    model: str, text: str, prompt_tokens: int, completion_tokens: int, finish_reason: str
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
