"""Invitations by e-mail and SMS: validation, limits, the outbox and its delivery worker."""
