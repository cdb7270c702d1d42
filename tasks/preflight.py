"""The preflight task every flow runs before it spends anything."""

from prefect import task
from prefect.artifacts import create_table_artifact

from aisci.preflight import Check, Stage, preflight
from aisci.settings import Settings


@task(retries=0, persist_result=False, task_run_name="preflight-{stage}")
def preflight_checks(settings: Settings, stage: Stage = "sweep") -> list[Check]:
    """Fails the flow, with every missing piece listed, before any model or GPU time is used."""
    checks = preflight(settings, stage)
    create_table_artifact(
        key="preflight",
        table=[c.model_dump() for c in checks],
        description=f"What this {stage} needs, checked before it started.",
    )
    return checks
