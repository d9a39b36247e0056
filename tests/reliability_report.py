"""Render docs/reliability.md from the figures the attack and fault tests recorded.

    python -m tests.reliability_report test-output docs/reliability.md

(`make reliability` runs the tests on SQLite and PostgreSQL first.) Nothing here is typed by
hand: every number comes from test-output/reliability-<database>.json or from the settings'
defaults in cabinet/config.py."""

from __future__ import annotations

import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cabinet import config
from tests.security import corpus

DATABASES = ("sqlite", "postgresql")


def load(folder: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for database in DATABASES:
        path = folder / f"reliability-{database}.json"
        if path.exists():
            found[database] = json.loads(path.read_text())
    return found


def render(figures: dict[str, dict[str, Any]]) -> str:
    lines = [
        "# Надежность: цифры прогона",
        "",
        "Written by `python -m tests.reliability_report test-output docs/reliability.md` from the "
        "figures the attack suite, the access matrix, the form fuzzing and the fault tests "
        "record in `test-output/` on SQLite and on PostgreSQL. `make reliability` runs those "
        "tests and then this command; `make test` records the same figures. "
        "Do not edit by hand; run the command again.",
        "",
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.system()} "
        f"{platform.machine()}, Python {platform.python_version()}; databases: "
        f"{', '.join(figures) or 'none'}.",
        "",
        "## Hostile input",
        "",
        f"Corpus: {len(corpus.STRINGS)} strings, {len(corpus.JSON_VALUES)} JSON values of wrong "
        f"types, {len(corpus.RAW_BODIES)} raw bodies, {len(corpus.PATH_SEGMENTS)} path segments "
        "(tests/security/corpus.py); each field also sent duplicated and missing.",
        "",
        "| database | requests | 5xx | access-matrix requests | 5xx | fuzzed form posts | 5xx |",
        "|---|---|---|---|---|---|---|",
    ]
    for database, data in figures.items():
        attack, matrix, fuzz = data["attack"], data["matrix"], data["fuzz"]
        lines.append(
            f"| {database} | {attack['requests']} | {attack['server_errors']} | "
            f"{matrix['requests']} | {matrix['server_errors']} | {fuzz['requests']} | "
            f"{fuzz['server_errors']} |"
        )
    lines += ["", "Answers by status:", ""]
    lines += ["| database | " + " | ".join(_statuses(figures)) + " |"]
    lines += ["|---|" + "---|" * len(_statuses(figures))]
    for database, data in figures.items():
        counts = data["attack"]["statuses"]
        lines.append(
            f"| {database} | "
            + " | ".join(str(counts.get(s, 0)) for s in _statuses(figures))
            + " |"
        )
    lines += ["", "### Inputs tried per field", ""]
    first = next(iter(figures.values()), None)
    if first:
        lines += ["| route and field | inputs |", "|---|---|"]
        for target, count in sorted(first["attack"]["fields"].items()):
            lines.append(f"| `{target}` | {count} |")
    lines += ["", "## Faults injected", ""]
    for database, data in figures.items():
        for name, values in sorted(data["faults"].items()):
            lines.append(f"### {name} ({database})")
            lines.append("")
            for key, value in values.items():
                lines.append(f"- {key}: {json.dumps(value, ensure_ascii=False)}")
            lines.append("")
    violations = sum(
        len(values.get("invariant_violations") or {})
        for data in figures.values()
        for values in data["faults"].values()
    )
    server_errors = sum(
        data[part]["server_errors"]
        for data in figures.values()
        for part in ("attack", "matrix", "fuzz")
    ) + sum(
        int(values.get("server_errors", 0))
        for data in figures.values()
        for values in data["faults"].values()
    )
    lines += [
        "## Totals",
        "",
        f"- 5xx answers, all runs: **{server_errors}**",
        f"- invariant violations, all runs: **{violations}**",
        "",
        "## Limits and their numbers (defaults, cabinet/config.py)",
        "",
        "| limit | default |",
        "|---|---|",
    ]
    defaults = config.from_environment({})
    for name in (
        *config.LIMIT_DEFAULTS,
        "INVITE_DAILY_CAP",
        "INVITE_RECIPIENT_COOLDOWN_DAYS",
        "SMS_DAILY_BUDGET",
        "SMS_MEMBER_DAILY_CAP",
        "SMS_NEW_MEMBER_DAILY_CAP",
        "SMS_NEW_MEMBER_DAYS",
        "SMS_RESERVE",
        "DB_CONNECT_TIMEOUT_SECONDS",
        "DB_STATEMENT_TIMEOUT_MS",
        "DB_POOL_TIMEOUT_SECONDS",
        "RATELIMIT_REDIS_TIMEOUT_SECONDS",
        "GATEWAY_BREAKER_THRESHOLD",
        "GATEWAY_BREAKER_COOLDOWN_SECONDS",
        "INVITE_MAX_ATTEMPTS",
    ):
        lines.append(f"| `{name}` | {defaults[name]} |")
    return "\n".join(lines) + "\n"


def _statuses(figures: dict[str, dict[str, Any]]) -> list[str]:
    return sorted({s for data in figures.values() for s in data["attack"]["statuses"]})


def main(argv: list[str]) -> int:
    folder, target = Path(argv[1]), Path(argv[2])
    figures = load(folder)
    if not figures:
        print(f"В {folder} нет reliability-*.json: сначала запустите тесты (make reliability).")
        return 1
    target.write_text(render(figures))
    print(f"Записано: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
