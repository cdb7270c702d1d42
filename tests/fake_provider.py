"""An in-process provider for unit tests of prompt logic: queued replies, every request kept.

    fake = FakeProvider(["a reply", Reply("another", prompt_tokens=10), Failure("transient", True, "busy")])
    gateway = Gateway(settings, run_dir, provider=fake)
    ...
    fake.requests[0].messages

The gateway builds, retries, reserves and records exactly as it does for litellm; only the HTTP is gone. Tests
of a whole stage keep the scripted server, which drives litellm's real client.
"""

import json

from aisci.llm.provider import Failure, Reply
from aisci.llm.request import Messages, Request, Target


class FakeFailure(Exception):
    """What `send` raises for a queued Failure, so the gateway's retry loop meets a real exception."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.cause)
        self.failure = failure


class FakeProvider:
    """Replies in the order queued (a str is a reply's text). `supports_schema` is off by default, like a
    model litellm does not know, so `complete_json` asks in the prompt as it does with the scripted server."""

    def __init__(
        self,
        replies: list[str | Reply | Failure],
        *,
        context_window: int | None = None,
        supports_schema: bool = False,
        worst_case_usd: float = 0.0,
    ) -> None:
        self.replies = list(replies)
        self.requests: list[Request] = []
        self._context_window = context_window
        self._supports_schema = supports_schema
        self._worst_case_usd = worst_case_usd

    def prompts(self) -> list[str]:
        """Each request's messages as one JSON string, to search for what a prompt says."""
        return [json.dumps(r.messages) for r in self.requests]

    def check(self, target: Target) -> None:
        pass

    def send(self, request: Request) -> Reply:
        self.requests.append(request)
        if not self.replies:
            raise AssertionError(f"no reply queued for request {len(self.requests)} (role {request.role})")
        reply = self.replies.pop(0)
        if isinstance(reply, Failure):
            raise FakeFailure(reply)
        return Reply(reply) if isinstance(reply, str) else reply

    def failure(self, exc: Exception) -> Failure:
        if isinstance(exc, FakeFailure):
            return exc.failure
        raise exc  # the test's own mistake (no reply queued): shown as it is, never turned into an LLMError

    def worst_case_usd(self, request: Request) -> float:
        return self._worst_case_usd

    def context_window(self, model: str) -> int | None:
        return self._context_window

    def count_tokens(self, model: str, text: str | None = None, messages: Messages | None = None) -> int:
        return len(text if text is not None else json.dumps(messages)) // 3 + 1

    def supports_images(self, model: str) -> bool:
        return False

    def supports_schema(self, model: str) -> bool:
        return self._supports_schema
