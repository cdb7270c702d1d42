"""Prefect tasks: the core stages of aisci with their retry and cache policies."""

from aisci import prefect_env

prefect_env.apply()
