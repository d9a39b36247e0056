"""A large program for benchmarks and EXPLAIN tests, written with bulk inserts.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench python -m bench.generate --scale 1m

The database must be migrated (`flask db upgrade`). Rows are consistent with the rules: every
referee is a member with one referral and its 20% grant; each referrer's grants and SMS packs
are the ladder (`rules.ladder`) replayed over its activations. The first referrer («deep»)
has `deep` referred clients and as many invitations, for the deep pages of the benchmark.

Scales (`--scale`): `1m` is the issue's production-sized set (1 000 000 clients, 300 000
referrers, 600 000 referees, their grants, 2 000 000 invitations); `bench` and `ci` are small.
Client ids start at FIRST_ID, clear of the demo clients (400…411).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import Connection, Table, text

from cabinet.db import db
from cabinet.referrals import queries, rules

FIRST_ID = 1_000_000
BATCH = 5_000


@dataclass(frozen=True)
class Scale:
    clients: int
    referrers: int
    referees: int
    invitations: int
    deep: int  # referred clients (and invitations) of the first referrer


SCALES = {
    "1m": Scale(1_000_000, 300_000, 600_000, 2_000_000, 10_000),
    "bench": Scale(17_000, 500, 10_500, 20_000, 10_000),
    "ci": Scale(20_000, 3_000, 6_000, 20_000, 2_000),
    "smoke": Scale(400, 30, 120, 200, 60),
}


@dataclass(frozen=True)
class Generated:
    deep_referrer: int
    referrers: range
    referees: range
    plain_clients: range  # neither member nor referred: free to apply a code


class Progress:
    """One line on stderr, rewritten: `grants  [#######.....]  58%  412 000/710 000  9 s`."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.started = time.monotonic()

    def show(self, label: str, done: int, total: int) -> None:
        if self.quiet:
            return
        width = 30
        filled = width * done // max(total, 1)
        percent = 100 * done // max(total, 1)
        bar = "#" * filled + "." * (width - filled)
        counts = f"{done:,}/{total:,}".replace(",", " ")
        seconds = time.monotonic() - self.started
        line = f"\r{label:<12} [{bar}] {percent:3d}%  {counts}  {seconds:.0f} s"
        sys.stderr.write(line)
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _insert(
    conn: Connection, table: Table, rows: Iterator[dict[str, Any]], total: int, progress: Progress
) -> None:
    """Batches of rows into `table`: COPY on PostgreSQL, executemany on SQLite."""
    write = _copier(conn, table) if conn.dialect.name == "postgresql" else None
    batch: list[dict[str, Any]] = []
    done = 0
    progress.show(table.name, 0, total)
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            write(batch) if write else conn.execute(table.insert(), batch)
            done += len(batch)
            progress.show(table.name, done, total)
            batch = []
    if batch or not done:
        if batch:
            write(batch) if write else conn.execute(table.insert(), batch)
        done += len(batch)
        progress.show(table.name, done, max(done, 1))


def _copier(conn: Connection, table: Table) -> Any:
    """COPY … FROM STDIN through psycopg: several times faster than INSERTs for millions of
    rows. Moments go in as the cabinet stores them: naive UTC (UTCDateTime)."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]

    def write(batch: list[dict[str, Any]]) -> None:
        columns = list(batch[0])
        names = ", ".join(f'"{c}"' for c in columns)
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in batch:
                copy.write_row([_plain(row[c]) for c in columns])

    return write


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def generate(
    app: Flask, scale: Scale, now: datetime, seed: int = 20230331, quiet: bool = False
) -> Generated:
    """Write the program of `scale` into the app's database; returns where things are."""
    rng = random.Random(seed)  # noqa: S311 - test data
    zone = ZoneInfo(app.config["CABINET_TIMEZONE"])
    progress = Progress(quiet)
    with app.app_context():
        # Each activation under the terms in force at its moment, as the services judge it.
        schedule = queries.schedule()
        db.session.remove()
    referrers = range(FIRST_ID, FIRST_ID + scale.referrers)
    referees = range(referrers.stop, referrers.stop + scale.referees)
    plain = range(referees.stop, FIRST_ID + scale.clients)
    if referees.stop > FIRST_ID + scale.clients:
        raise ValueError("more members than clients")
    deep = referrers.start
    year_ago = now - timedelta(days=365)

    # Who referred whom, and when (ascending per referrer, all in the past year).
    by_referrer: dict[int, list[tuple[int, datetime]]] = {}
    referee_ids = iter(referees)
    deep_step = timedelta(days=300) / max(scale.deep, 1)
    deep_start = now - timedelta(days=301)
    by_referrer[deep] = [(next(referee_ids), deep_start + n * deep_step) for n in range(scale.deep)]
    others = list(referrers[1:]) or [deep]
    for referee in referee_ids:
        by_referrer.setdefault(rng.choice(others), []).append(
            (referee, year_ago + timedelta(seconds=rng.randrange(360 * 24 * 3600)))
        )
    activated_at: dict[int, datetime] = {}
    for referred in by_referrer.values():
        referred.sort(key=lambda pair: pair[1])
        activated_at.update(referred)

    tables = db.metadata.tables
    with app.app_context(), db.engine.begin() as conn:

        def clients() -> Iterator[dict[str, Any]]:
            for cid in range(FIRST_ID, FIRST_ID + scale.clients):
                activated = activated_at.get(cid)
                registered = (
                    activated - timedelta(days=rng.randrange(1, 28))
                    if activated is not None
                    else year_ago - timedelta(days=rng.randrange(0, 700))
                )
                if cid in plain:  # may still apply a code: registered days ago
                    registered = now - timedelta(days=1 + cid % 20)
                yield {
                    "id": cid,
                    "name": f"Компания {cid}",
                    "registered_at": registered,
                    "promo_until": None,
                    "email": f"c{cid}@bench.example.ru",
                    "phone": None,
                    "password_hash": None,
                    "status": "active",
                    "session_version": 0,
                }

        _insert(conn, tables["clients"], clients(), scale.clients, progress)

        def members() -> Iterator[dict[str, Any]]:
            for cid in range(referrers.start, referees.stop):
                joined = activated_at.get(cid, year_ago)
                yield {"client_id": cid, "code": f"{cid:09x}", "joined_at": joined}

        _insert(conn, tables["members"], members(), scale.referrers + scale.referees, progress)

        referral_id: dict[int, int] = {}

        def referrals() -> Iterator[dict[str, Any]]:
            next_id = 1_000_000
            for referrer, referred in by_referrer.items():
                for referee, moment in referred:
                    referral_id[referee] = next_id
                    yield {
                        "id": next_id,
                        "referrer_id": referrer,
                        "referee_id": referee,
                        "activated_at": moment,
                        "revoked_at": None,
                        "revoked_by": None,
                        "revoke_reason": None,
                    }
                    next_id += 1

        _insert(conn, tables["referrals"], referrals(), scale.referees, progress)

        packs: list[dict[str, Any]] = []

        def grants() -> Iterator[dict[str, Any]]:
            for referrer, referred in by_referrer.items():
                result = rules.ladder([m for _, m in referred], zone, schedule.at)
                for (referee, moment), grant in zip(referred, result.grants, strict=True):
                    welcome = rules.referee_grant(moment, None, zone, schedule.at(moment))
                    yield _grant_row(referee, referral_id[referee], welcome)
                    yield _grant_row(referrer, referral_id[referee], grant)
                when = {moment: referee for referee, moment in referred}
                for size, moment in result.sms_packs:
                    packs.append(
                        {
                            "client_id": referrer,
                            "referral_id": referral_id[when[moment]],
                            "size": size,
                            "granted_at": moment,
                            "revoked_at": None,
                            "terms_version": schedule.at(moment).version,
                        }
                    )

        _insert(conn, tables["grants"], grants(), 2 * scale.referees, progress)
        _insert(conn, tables["sms_packs"], iter(packs), len(packs), progress)

        def invitations() -> Iterator[dict[str, Any]]:
            senders: Sequence[int] = referrers
            for n in range(scale.invitations):
                member = deep if n < scale.deep else senders[rng.randrange(len(senders))]
                created = year_ago + timedelta(seconds=rng.randrange(364 * 24 * 3600))
                phone = f"+7910{n:07d}"
                yield {
                    "key": str(uuid.UUID(int=rng.getrandbits(128))),
                    "member_id": member,
                    "channel": "sms",
                    "recipient": phone,
                    "payload": json.dumps({"to": phone, "text": f"Код {member:09x}"}),
                    "status": "sent",
                    "attempts": 1,
                    "created_at": created,
                    "next_attempt_at": created,
                    "lease_until": None,
                    "lease_token": None,
                    "sent_at": created,
                    "last_error": None,
                }

        _insert(conn, tables["invitations"], invitations(), scale.invitations, progress)
    with app.app_context(), db.engine.connect() as conn:
        # Fresh statistics, so the planner sees the tables as they now are; on PostgreSQL the
        # new rows vacuumed too, as a database in service has them, or autovacuum does it
        # in the middle of the measurements (the bulk insert set it off).
        vacuum = "VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE"
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text(vacuum))
    return Generated(deep, referrers, referees, plain)


def _grant_row(client_id: int, referral: int, grant: rules.Grant) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "referral_id": referral,
        "reason": grant.reason,
        "level": grant.level,
        "percent": grant.percent,
        "starts_at": grant.starts_at,
        "ends_at": grant.ends_at,
        "revoked_at": None,
        "terms_version": grant.terms_version,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="bench")
    args = parser.parse_args(argv)
    from cabinet import create_app

    app = create_app()
    now = app.extensions["context"].clock.now()
    started = time.monotonic()
    made = generate(app, SCALES[args.scale], now)
    print(
        f"{args.scale}: {SCALES[args.scale]} in {time.monotonic() - started:.0f} s; "
        f"deep referrer {made.deep_referrer}"
    )


if __name__ == "__main__":
    main()
