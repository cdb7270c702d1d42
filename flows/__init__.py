"""Prefect flows: the DAGs and deployment entrypoints."""

from aisci import prefect_env

prefect_env.apply()
