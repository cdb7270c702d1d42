"""`aisci doctor` as a flow, to check a worker's host from the Prefect UI."""

from prefect import flow

from aisci.preflight import Check
from aisci.settings import get_settings
from tasks.preflight import preflight_checks


@flow(name="preflight", log_prints=True)
def preflight_flow() -> list[Check]:
    checks = preflight_checks(get_settings())
    for check in checks:
        print(f"{check.status:>4} {check.name}: {check.detail}")
    return checks
