"""The writer's pick of the metrics that matter for the idea, shown beside the template's primary metrics in
the main results table; every metric stays in the appendix tables either way.

Names that do not exist are dropped rather than sent back (a weak model would only guess again), and an
unusable reply picks nothing: the paper never waits on this step."""

import json
import logging

from aisci.errors import LLMResponseError
from aisci.llm import Gateway
from aisci.writeup.paper import PaperContext

log = logging.getLogger(__name__)

MAX_PICKS = 3
MAX_LISTED = 150  # candidates named in the prompt; a template with more lists the first ones
PICK_MAX_TOKENS = 200

SYSTEM = "You choose which measured metrics belong in the main results table of a machine learning paper."


def candidates(context: PaperContext) -> list[str]:
    """Metrics the writer may add: measured, not already primary, not wall-clock time."""
    results = context.results
    main = set(results.main_metrics())
    return [m for m in results.metrics() if m not in main and m not in results.timing]


def pick_prompt(context: PaperContext, names: list[str]) -> str:
    results = context.results
    listed = names[:MAX_LISTED]
    lines = [f"- {m}" + (f": {results.descriptions[m]}" if m in results.descriptions else "") for m in listed]
    if len(names) > len(listed):
        lines.append(f"({len(names) - len(listed)} more not listed)")
    primary = ", ".join(results.main_metrics()) or "(none)"
    return (
        f"Paper: {context.title}\nIdea: {json.dumps(context.idea)[:2000]}\n"
        f"The main results table already shows: {primary}.\n"
        f"Other measured metrics:\n" + "\n".join(lines) + "\n\n"
        f"Pick the metrics for the main results table: at most {MAX_PICKS} of the other metrics above that "
        "a reader needs to judge this idea's claim, or none. Reply with JSON "
        '{"metrics": [names exactly as listed]}.'
    )


def pick_main_metrics(gateway: Gateway, context: PaperContext) -> list[str]:
    """Up to MAX_PICKS metric names that exist, in the order given; [] when there is nothing to pick from."""
    names = candidates(context)
    if not names:
        return []
    schema = {
        "type": "object",
        "properties": {"metrics": {"type": "array", "items": {"type": "string"}}},
        "required": ["metrics"],
    }
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": pick_prompt(context, names)},
    ]
    try:
        reply = gateway.complete_json("writing", messages, schema, max_tokens=PICK_MAX_TOKENS)
    except LLMResponseError as exc:
        log.warning("%s: no metric picked for the main table: %s", context.idea_dir.name, exc.message)
        return []
    chosen = reply.get("metrics", []) if isinstance(reply, dict) else []
    picked = list(dict.fromkeys(m for m in chosen if isinstance(m, str) and m in names))[:MAX_PICKS]
    if len(picked) < len(chosen):
        log.warning("%s: of the metrics the writer named, %s were kept", context.idea_dir.name, picked)
    return picked
