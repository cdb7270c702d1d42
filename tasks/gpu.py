"""GPU slots: one global concurrency limit per device, held by one experiment at a time."""

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress

from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists

POLL_S = 5.0
LEASE_S = 60  # a GPU held by a dead worker frees within a minute (the least Prefect allows), not five


def slot_name(gpu: int) -> str:
    """One global concurrency limit per device; the host name keeps GPU 0 of two hosts apart."""
    return f"gpu-{socket.gethostname()}-{gpu}"


def ensure_gpu_limits(gpus: list[int]) -> None:
    with get_client(sync_client=True) as client:
        for gpu in gpus:
            with suppress(ObjectAlreadyExists):  # made by another experiment since Prefect's read
                client.upsert_global_concurrency_limit_by_name(slot_name(gpu), limit=1)


@contextmanager
def gpu_slot(requested: list[int] | None, host_gpus: list[int]) -> Iterator[list[int] | None]:
    """The GPUs an experiment may use, held until it ends: the requested ones, else this host's first free
    one. With neither, the experiment runs on the CPU and holds nothing."""
    if not requested and not host_gpus:
        yield None
        return
    ensure_gpu_limits(requested or host_gpus)
    with ExitStack() as held:
        if requested:
            held.enter_context(
                concurrency([slot_name(g) for g in requested], strict=True, lease_duration=LEASE_S)
            )
            chosen = requested
        else:
            chosen = _first_free(held, host_gpus)
        yield chosen


def _first_free(held: ExitStack, gpus: list[int]) -> list[int]:
    while True:
        for gpu in gpus:
            try:
                held.enter_context(
                    concurrency(slot_name(gpu), timeout_seconds=1, strict=True, lease_duration=LEASE_S)
                )
            except TimeoutError:
                continue
            return [gpu]
        time.sleep(POLL_S)
