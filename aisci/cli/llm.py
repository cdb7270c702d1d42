"""`aisci llm`: one call through the gateway."""

from pathlib import Path
from typing import Annotated

import typer

from aisci.cli.options import Workspace, settings_for


def llm(
    prompt: Annotated[str, typer.Argument(help="What to ask.")],
    model: Annotated[str | None, typer.Option("--model", "-m", help="litellm model string.")] = None,
    json_schema: Annotated[
        Path | None,
        typer.Option("--json-schema", help="JSON schema file the reply must follow.", exists=True),
    ] = None,
    workspace: Workspace = None,
) -> None:
    """Send one prompt through the gateway and print the reply, tokens and cost.

    The model's provider and key are checked before the call is sent; the exchange is appended to
    <workspace>/llm/transcript.jsonl."""
    import json

    from rich.console import Console

    from aisci.errors import ConfigError
    from aisci.llm import Gateway

    settings = settings_for(workspace)
    if model:
        settings = settings.model_copy(
            update={"models": settings.models.model_copy(update={"ideation": model})}
        )
    gateway = Gateway(settings, run_dir=settings.workspace / "llm")
    messages = [{"role": "user", "content": prompt}]
    if json_schema:
        try:
            schema = json.loads(json_schema.read_text())
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{json_schema} is not valid JSON: {exc}") from None
        print(json.dumps(gateway.complete_json("ideation", messages, schema), indent=2))
    else:
        print(gateway.complete("ideation", messages).text)
    usage = gateway.usage["ideation"]
    Console(stderr=True).print(
        f"[dim]{settings.model_for('ideation')}: {usage.calls} call(s), {usage.prompt_tokens} prompt + "
        f"{usage.completion_tokens} completion tokens, ${usage.cost_usd:.6f}[/]",
        highlight=False,
    )
