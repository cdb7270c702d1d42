"""Prefect tasks: the core stages of aisci with their retry and cache policies."""
