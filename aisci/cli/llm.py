"""`aisci llm`: one call through the gateway."""
