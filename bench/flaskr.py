"""The other yardstick: the index of Flask's own tutorial app («flaskr»), as the tutorial writes
it, served by the same gunicorn config as the cabinet. A signed-in author's blog index: the
session cookie, the user loaded before the request (one query), the posts with their authors
(one query, 20 posts), a template extending a base with the navigation; a sqlite3 connection
per request, closed at teardown. Measured once at 0.28 × hello-world; `make bench`
measures it again beside the cabinet.

`FLASKR_DATABASE`: the SQLite file, made and filled by `fill` before the server starts.
"""

from __future__ import annotations

import os
import sqlite3

from flask import Flask, g, render_template, session
from jinja2 import DictLoader

SECRET = "flaskr-bench-secret"  # noqa: S105 - a benchmark's yardstick, never deployed
POSTS = 20

TEMPLATES = {
    "base.html": """<!doctype html>
<title>{% block title %}{% endblock %} - Flaskr</title>
<link rel="stylesheet" href="{{ url_for('static', filename='style.css') }}">
<nav>
  <h1>Flaskr</h1>
  <ul>
    {% if g.user %}
      <li><span>{{ g.user['username'] }}</span>
      <li><a href="{{ url_for('logout') }}">Log Out</a>
    {% else %}
      <li><a href="{{ url_for('register') }}">Register</a>
      <li><a href="{{ url_for('login') }}">Log In</a>
    {% endif %}
  </ul>
</nav>
<section class="content">
  <header>
    {% block header %}{% endblock %}
  </header>
  {% for message in get_flashed_messages() %}
    <div class="flash">{{ message }}</div>
  {% endfor %}
  {% block content %}{% endblock %}
</section>
""",
    "index.html": """{% extends 'base.html' %}

{% block header %}
  <h1>{% block title %}Posts{% endblock %}</h1>
  {% if g.user %}
    <a class="action" href="{{ url_for('create') }}">New</a>
  {% endif %}
{% endblock %}

{% block content %}
  {% for post in posts %}
    <article class="post">
      <header>
        <div>
          <h1>{{ post['title'] }}</h1>
          <div class="about">by {{ post['username'] }}
            on {{ post['created'].strftime('%Y-%m-%d') }}</div>
        </div>
        {% if g.user['id'] == post['author_id'] %}
          <a class="action" href="{{ url_for('update', id=post['id']) }}">Edit</a>
        {% endif %}
      </header>
      <p class="body">{{ post['body'] }}</p>
    </article>
    {% if not loop.last %}
      <hr>
    {% endif %}
  {% endfor %}
{% endblock %}
""",
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS user (
  id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT UNIQUE NOT NULL, password TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS post (
  id INTEGER PRIMARY KEY AUTOINCREMENT, author_id INTEGER NOT NULL,
  created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, title TEXT NOT NULL, body TEXT NOT NULL,
  FOREIGN KEY (author_id) REFERENCES user (id));
"""

DATABASE = os.environ.get("FLASKR_DATABASE", "flaskr.sqlite3")

app = Flask(__name__)
app.config.update(SECRET_KEY=SECRET)
app.jinja_loader = DictLoader(TEMPLATES)


def fill(path: str) -> None:
    """The tutorial's schema, one author and 20 posts."""
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        db.execute("INSERT INTO user (id, username, password) VALUES (1, 'author', '-')")
        for n in range(POSTS):
            db.execute(
                "INSERT INTO post (author_id, title, body) VALUES (1, ?, ?)",
                (f"Post {n}", "A paragraph of the post's text. " * 8),
            )
    db.close()


def get_db() -> sqlite3.Connection:
    if "db" not in g:
        g.db = sqlite3.connect(DATABASE, detect_types=sqlite3.PARSE_DECLTYPES)
        g.db.row_factory = sqlite3.Row
    return g.db  # type: ignore[no-any-return]


@app.teardown_appcontext
def close_db(_error: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


@app.before_request
def load_logged_in_user() -> None:
    user_id = session.get("user_id")
    g.user = (
        None
        if user_id is None
        else get_db().execute("SELECT * FROM user WHERE id = ?", (user_id,)).fetchone()
    )


@app.get("/")
def index() -> str:
    posts = (
        get_db()
        .execute(
            "SELECT p.id, title, body, created, author_id, username"
            " FROM post p JOIN user u ON p.author_id = u.id"
            " ORDER BY created DESC"
        )
        .fetchall()
    )
    return render_template("index.html", posts=posts)


# The links of the navigation, as in the tutorial; the benchmark never follows them.
for rule, name in (
    ("/auth/register", "register"),
    ("/auth/login", "login"),
    ("/auth/logout", "logout"),
    ("/create", "create"),
    ("/<int:id>/update", "update"),
):
    app.add_url_rule(rule, name, lambda **_: ("", 204))


def signed_in_cookie() -> str:
    """The session cookie of the signed-in author."""
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return str(serializer.dumps({"user_id": 1}))
