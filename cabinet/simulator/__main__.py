"""`python -m cabinet.simulator [--host 127.0.0.1] [--port 5056] [--token T]`"""

from __future__ import annotations

import argparse

from cabinet.simulator.server import serve


def main() -> None:
    parser = argparse.ArgumentParser(description="Симулятор SMS- и email-шлюзов")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5056)
    parser.add_argument("--token", default="", help="ожидаемый Bearer-токен (пусто: любой)")
    args = parser.parse_args()
    serve(args.host, args.port, args.token)


if __name__ == "__main__":
    main()
