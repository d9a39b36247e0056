"""The operator's integration API under /api/v1: bearer tokens, JSON, problem details."""
