"""Signed webhooks: the events feed POSTed to the operator's systems (docs/webhooks.md)."""
