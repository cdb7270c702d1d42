"""Building a call: where a role's model is reached, and the request one call sends it, whatever provider
carries it."""

from dataclasses import dataclass, field
from typing import Any

from aisci.llm import local
from aisci.settings import LOCAL_MODEL, Role, Settings

Messages = list[dict[str, Any]]


@dataclass
class Target:
    """How to reach the model a role names."""

    model: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    local: bool = False
    endpoint: bool = False  # an OpenAI-compatible endpoint we point at (local model, scripted server, vLLM)


@dataclass
class Request:
    """One chat completion as the gateway asks a provider for it; `params` are the sampling and transport
    options (timeout, temperature, max_tokens, response_format, extra_headers, api_base), only those given."""

    role: Role
    target: Target
    messages: Messages
    params: dict[str, Any]

    @property
    def max_tokens(self) -> int | None:
        return self.params.get("max_tokens")


def target_for(settings: Settings, role: Role) -> Target:
    model = settings.model_for(role)
    if model == LOCAL_MODEL:
        return Target(f"openai/{local.SERVED_NAME}", {"api_key": "local"}, local=True, endpoint=True)
    if settings.llm.api_base:
        key = settings.llm.api_key
        api_key = key.get_secret_value() if key else "none"
        return Target(model, {"api_base": settings.llm.api_base, "api_key": api_key}, endpoint=True)
    return Target(model)


def build(
    target: Target,
    role: Role,
    messages: Messages,
    *,
    timeout_s: float,
    temperature: float | None = None,
    max_tokens: int | None = None,
    response_format: dict | None = None,
) -> Request:
    """The request for one call; the embedded model's server is started here, before anything is reserved,
    and its replies are capped at `local.MAX_TOKENS`."""
    params: dict[str, Any] = {"timeout": timeout_s}
    if target.local:
        params["api_base"] = local.base_url()
        max_tokens = local.reply_tokens(max_tokens)
    if target.endpoint:
        params["extra_headers"] = {"X-Aisci-Role": role}  # lets an endpoint we run tell the roles apart
    for name, value in (("temperature", temperature), ("max_tokens", max_tokens)):
        if value is not None:
            params[name] = value
    if response_format is not None:
        params["response_format"] = response_format
    return Request(role, target, messages, params)
