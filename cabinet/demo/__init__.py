"""The demo, for a product manager (demo mode only, `DEMO_MODE=1`).

- `clock.py`: the demo clock (real time plus a stored offset) and `time_machine.py`, its jumps;
- `seed.py`, `cli.py`: the demo clients of docs/demo.md, `flask demo seed [--reset]`, the reset;
- `stories.py`: the «Сценарии» as data — who takes part, the steps, what to look at;
- `words.py`: every number a story names, worded from the terms in force;
- `runs.py`: starting a story, one table of step handlers, the board the panel shows.

The panel's pages for it are `cabinet/manage/demo.py`, a blueprint registered only in demo
mode. Kept light: `cabinet/__init__.py` imports the clock before the app exists.
"""
