"""`aisci doctor`: preflight checks."""
