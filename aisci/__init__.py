"""aisci: automated ML research, one idea at a time, as a Prefect DAG."""

__version__ = "0.1.0"
