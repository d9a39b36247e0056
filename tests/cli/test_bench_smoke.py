"""The benchmark commands run end to end, `make bench` and `make bench-scales` (a tiny program,
one second per endpoint, one connection pausing 20 ms between requests to one gunicorn worker:
a smoke test, which leaves the cores to the tests around it).

It checks that the benchmark still works, not how fast anything is: numbers are never
asserted. On the SQLite leg only (the script makes its own databases); needs wrk (Debian).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cabinet.config import PROJECT_ROOT


def _drive_gently(module: str, output: Path, *arguments: str) -> str:
    """A benchmark command on SQLite, one gunicorn worker, one connection pausing 20 ms between
    requests, one second an endpoint: its table."""
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("the SQLite leg runs it (the script makes its own databases)")
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (make bench installs it from Debian)")
    done = subprocess.run(
        [sys.executable, "-m", module, *arguments]
        + ["--duration", "1", "--connections", "1", "--threads", "1", "--pause-ms", "20"]
        + ["--no-warm-up", "--repeat", "2", "--output", str(output)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "WEB_CONCURRENCY": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return output.read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_bench_script_runs_end_to_end(tmp_path: Path) -> None:
    table = _drive_gently(
        "bench.run",
        tmp_path / "results.md",
        *("--scale", "smoke", "--databases", "sqlite", "--worker-messages", "40"),
        *("--delivery-processes", "2"),
    )
    # The workers as gunicorn.conf.py sets them (WEB_CONCURRENCY); each row one median of two.
    assert "gunicorn.conf.py (1 sync workers" in table, table
    assert "Each GET's row is the median of its 2 runs" in table, table
    # The cabinet's runs are paced by the tutorial's index, served beside it.
    paced = re.search(r"the tutorial's index made (\d+)–(\d+) rps in those runs", table)
    assert paced is not None and 0 < int(paced[1]) <= int(paced[2]), table
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    # 2 headers, hello-world and the Flask tutorial's index three times (before the cold
    # endpoints, between, after the warm), 12 endpoints and the browsing mix cold, 6 GETs warm
    # twice (the kept body, the 304) and the mix warm, 1 worker run
    assert len(rows) == 2 + 32 + 1, table
    # Every endpoint answered without errors (a refused POST would count as one).
    errors = [int(re.split(r"\s*\|\s*", row)[6]) for row in rows[1:33]]
    assert errors == [0] * 32, table
    assert any(row.startswith("| browsing mix recorded in Chromium") for row in rows), table
    tutorial = [i for i, row in enumerate(rows) if "Flask tutorial's index" in row]
    assert tutorial == [2, 17, 32], table
    # Each yardstick run's ratio is to the median of the three: one of them is 1.00.
    ratios = [re.split(r"\s*\|\s*", rows[i])[8] for i in tutorial]
    assert "1.00" in ratios, table


@pytest.mark.slow
def test_the_instructions_command_counts_what_a_request_costs(tmp_path: Path) -> None:
    """`make instructions` (bench/instructions.py) end to end on a tiny program: two processes
    under callgrind, one with the requests and one without; a request costs something."""
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("the SQLite leg runs it (the script makes its own databases)")
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed (make instructions installs it from Debian)")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.instructions",
            "--database",
            "sqlite",
            "--scale",
            "smoke",
            "--requests",
            "3",
            "--warm-up",
            "2",
            "--endpoints",
            "discount`",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    row = re.search(
        r"^\| API `GET /api/v1/clients/400/discount` \| sqlite \| ([\d.]+) \| (\d+) \|$",
        done.stdout,
        re.M,
    )
    assert row is not None, done.stdout
    # A request costs something, and not what a whole process does (thousands of millions);
    # the body is the API's JSON.
    assert 1.0 < float(row[1]) < 100.0, done.stdout
    assert int(row[2]) > 100, done.stdout


@pytest.mark.slow
def test_the_scales_command_drives_both_sizes_in_pairs(tmp_path: Path) -> None:
    """`make bench-scales` (bench/scales.py) end to end: two sizes served at once, every GET of
    `make bench` driven on each, a ratio for each pair; on SQLite, one connection, pausing."""
    table = _drive_gently(
        "bench.scales", tmp_path / "scales.md", "--scales", "smoke,ci", "--database", "sqlite"
    )
    assert "| endpoint | rps, smoke | rps, ci |" in table, table
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    cells = [re.split(r"\s*\|\s*", row)[1:-1] for row in rows[1:]]
    # Cold: 9 GETs, the invoice preview (a POST that writes nothing) and the browsing mix; warm:
    # 6 GETs twice and the mix. Not the two POSTs that write (an apply, an invitation).
    assert len(cells) == 11 + 13, table
    assert not [c for c in cells if c[0].startswith(("apply a code", "send an invitation"))]
    assert [c[5] for c in cells] == ["0"] * 24, table  # every request answered
    # Two pairs a row, and the row's ratio is their median (of two: their mean).
    for c in cells:
        pairs = [float(ratio) for ratio in c[7].split(", ")]
        assert len(pairs) == 2 and min(pairs) > 0, c
        assert float(c[6]) == pytest.approx(sum(pairs) / 2, abs=0.011), c
