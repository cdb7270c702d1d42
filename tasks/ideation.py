"""Idea generation and novelty checks as Prefect tasks, with their retry, cache and rate-limit policy.

Retries follow `tasks.policy`: transient failures are retried with backoff and jitter; a spent budget, an
unusable model reply, refused credentials or bad input are final. Semantic Scholar failures never fail the
task: they end as verdict `unknown`.
"""

import threading

from prefect import task
from prefect.cache_policies import INPUTS, TASK_SOURCE

from aisci import ideation as core_ideas
from aisci import literature
from aisci.ideation import Archive, Generated, GenerationOptions, Idea
from aisci.literature import NoveltyOptions
from aisci.literature.ratelimit import RateLimiter, interval_for, shared_limiter
from aisci.llm import Gateway
from aisci.settings import Settings
from tasks.policy import TRANSIENT_RETRIES

S2_RATE_LIMIT = "semantic-scholar"


@task(name="generate_ideas", cache_policy=INPUTS + TASK_SOURCE, **TRANSIENT_RETRIES)
def generate_ideas(settings: Settings, template: str, sweep_id: str, options: GenerationOptions) -> Generated:
    """Ideas for one sweep, each saved as `<workspace>/<sweep-id>/<idea>/idea.json` and archived."""
    info = core_ideas.load_template(template)
    gateway = Gateway(settings, run_dir=settings.workspace / sweep_id)
    generated = core_ideas.generate_ideas(
        info, gateway, Archive(settings.workspace, info.name), sweep_id, options
    )
    for idea in generated.ideas:
        core_ideas.save_idea(settings.workspace, idea)
    return generated


@task(
    name="check_novelty",
    task_run_name="check_novelty-{idea.name}",
    cache_policy=INPUTS + TASK_SOURCE,
    **TRANSIENT_RETRIES,
)
def check_novelty(settings: Settings, idea: Idea, options: NoveltyOptions) -> literature.NoveltyResult:
    """The idea's novelty verdict, saved as its `novelty.json` and written back to the archive."""
    folder = core_ideas.idea_dir(settings.workspace, idea)
    interval_s = options.s2.interval_s or interval_for(settings.s2_api_key is not None)
    client = literature.S2Client.from_settings(settings, options.s2, s2_limiter(settings, interval_s))
    description = f"Hypothesis: {idea.hypothesis}\nExperiment: {idea.experiment}"
    result = literature.check_novelty(
        idea.name, idea.title, description, Gateway(settings, run_dir=folder), client.search, options.rounds
    )
    literature.save_novelty(folder, result)
    Archive(settings.workspace, idea.template).record_outcome(
        idea.sweep_id, idea.name, novelty=result.verdict, novelty_note=result.justification or result.reason
    )
    return result


class PrefectRateLimiter:
    """Prefect's global rate limit: every task on every host talking to one Prefect server shares it.

    The limit is one slot that frees itself after `interval_s`; it is created on first use. The server
    answers a blocked request with a random (Poisson) wait, so under contention the achieved rate is below
    the limit: bench/novelty_rate.py measures it."""

    _ready: set[tuple[str, float]] = set()
    _lock = threading.Lock()

    def __init__(self, name: str, interval_s: float) -> None:
        self.name = name
        with self._lock:
            if (name, interval_s) not in self._ready:
                from prefect.client.orchestration import get_client

                with get_client(sync_client=True) as client:
                    client.upsert_global_concurrency_limit_by_name(
                        name, limit=1, slot_decay_per_second=1.0 / interval_s
                    )
                self._ready.add((name, interval_s))

    def acquire(self) -> None:
        from prefect.concurrency.sync import rate_limit

        rate_limit(self.name, occupy=1, strict=True)


def s2_limiter(settings: Settings, interval_s: float) -> RateLimiter:
    """The shared limit when a Prefect server coordinates several hosts; the in-process one otherwise."""
    if settings.prefect.api_url:
        return PrefectRateLimiter(S2_RATE_LIMIT, interval_s)
    return shared_limiter(interval_s)
