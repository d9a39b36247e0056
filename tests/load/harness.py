"""Real processes for the load and scale-out tests: the cabinet under gunicorn, the delivery
worker, and browsers made of `requests` sessions. Loopback only, bounded in time."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up in {seconds} s")


class Gunicorn:
    """`gunicorn -w N wsgi:app` on a free loopback port; its workers are its children."""

    def __init__(self, env: dict[str, str], workers: int = 3) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # A file, not a pipe: nobody reads it during the run, and a full pipe would stop the
        # workers at their next log line (one per request).
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "20",
                "--graceful-timeout",
                "2",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        wait_for(self.url + "/login")

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def kill_a_worker(self) -> int:
        victim = self.workers()[0]
        os.kill(victim, signal.SIGKILL)
        return victim

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log.close()

    def kill(self) -> None:
        """SIGKILL the master and its workers: the server is gone at once."""
        pids = self.workers() if self.process.poll() is None else []
        self.process.kill()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(timeout=10)
        self.log.close()


class DeliveryWorker:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [str(BIN / "flask"), "invitations", "deliver", "--loop", "--idle", "0.05"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill_and_restart(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = self._start()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


@dataclass
class Tally:
    """What the browsers saw."""

    statuses: Counter[int] = field(default_factory=Counter)
    dropped: int = 0  # connections closed mid-request (a killed worker); retried

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


class Browser:
    """A signed-in client, speaking to the cabinet over HTTP like a browser without JS."""

    def __init__(self, base: str, tally: Tally) -> None:
        self.base = base
        self.tally = tally
        self.http = requests.Session()
        self.csrf = ""

    def request(self, method: str, path: str, **kwargs: object) -> requests.Response:
        for _ in range(5):
            try:
                response = self.http.request(
                    method, self.base + path, timeout=30, allow_redirects=False, **kwargs
                )
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                # the worker that held it was killed, before or while it answered: try again
                self.tally.dropped += 1
                time.sleep(0.05)
                continue
            self.tally.statuses[response.status_code] += 1
            return response
        raise AssertionError(f"{method} {path}: no answer after 5 tries")

    def sign_in(self, email: str, password: str, login: str = "/login") -> None:
        page = self.request("GET", login)
        token = CSRF.search(page.text)
        assert token, page.status_code
        response = self.request(
            "POST", login, data={"email": email, "password": password, "csrf_token": token[1]}
        )
        assert response.status_code == 302, (email, response.status_code)
        self.refresh_token()

    def refresh_token(self, page: str = "/referral") -> None:
        found = CSRF.search(self.request("GET", page).text)
        if found:
            self.csrf = found[1]

    def post(self, path: str, data: dict[str, str]) -> requests.Response:
        return self.request("POST", path, data={**data, "csrf_token": self.csrf})
