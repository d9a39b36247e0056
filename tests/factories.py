"""The old home of the row factories: tests/support/factories.py."""

from tests.support.factories import (
    REFEREES_REGISTERED_AT,
    REFERRER_JOINS_AT,
    WORKED_EXAMPLE,
    Referee,
    invitation,
    make_client,
    make_member,
    refer_worked_example,
    seed_worked_example,
)

__all__ = [
    "REFEREES_REGISTERED_AT",
    "REFERRER_JOINS_AT",
    "WORKED_EXAMPLE",
    "Referee",
    "invitation",
    "make_client",
    "make_member",
    "refer_worked_example",
    "seed_worked_example",
]
