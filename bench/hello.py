"""The yardstick: a bare Flask hello-world, served by the same gunicorn config as the cabinet."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
