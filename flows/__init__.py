"""Prefect flows: the DAGs and deployment entrypoints."""
