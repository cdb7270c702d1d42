"""LLM access for every stage: `Gateway(settings, run_dir).complete(...)` / `.complete_json(...)`."""

from aisci.llm.gateway import Completion, Gateway, RoleUsage

__all__ = ["Completion", "Gateway", "RoleUsage"]
