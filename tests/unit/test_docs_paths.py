"""Every path the README and docs/*.md name exists: a file moved or renamed takes its mention
along, or this fails. A path is a word in backticks (or in a fenced block) starting with one of
the repository's folders, a test file's name, or a relative Markdown link. Globs (`*/cli.py`)
and placeholders (`<code>`, `{id}`, `…`) are not paths and are passed over."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FOLDERS = ("cabinet/", "tests/", "docs/", "bench/", "migrations/", "templates/", "static/")
PLACEHOLDER = re.compile(r"[*?<>{}…]|\.\.\.")
INLINE = re.compile(r"`([^`\n]+)`")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\]\(([^)\s]+)\)")
TEST_FILE = re.compile(r"^test_\w+\.py$")


def _words(text: str) -> list[str]:
    fenced = FENCE.findall(text)
    inline = INLINE.findall(FENCE.sub("", text))
    return [word for chunk in fenced + inline for word in chunk.split()]


def named_paths(document: Path, root: Path = ROOT) -> list[str]:
    """The paths a document names, as written (an anchor or a test's `::name` cut off)."""
    text = document.read_text(encoding="utf-8")
    found = []
    for word in _words(text):
        word = word.strip("`'\"(),;:.[]").split("::")[0]
        if PLACEHOLDER.search(word) or "://" in word:
            continue
        if word.startswith(FOLDERS) or TEST_FILE.match(word):
            found.append(word)
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:|^#", target):
            continue
        path = (document.parent / target.split("#")[0]).resolve()
        found.append(str(path.relative_to(root)))
    return found


# What a command writes, named as where to find it (ignored by git): not in the repository.
WRITTEN = ("bench/results", "instance/", "test-output/")


def exists(path: str) -> bool:
    if TEST_FILE.match(path):  # a test file named alone: somewhere under tests/
        return any((ROOT / "tests").rglob(path))
    if path.startswith(WRITTEN) or (ROOT / path).exists():
        return True
    # `cabinet/invitations/rules.contact_hash`: a module's attribute
    module, dot, _attribute = path.rpartition(".")
    return bool(dot) and "/" in module and (ROOT / f"{module}.py").exists()


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: str(d.relative_to(ROOT)))
def test_every_path_named_exists(document: Path) -> None:
    missing = sorted({path for path in named_paths(document) if not exists(path)})
    assert not missing, f"{document.relative_to(ROOT)} names what does not exist: {missing}"


def test_the_check_finds_what_it_checks(tmp_path: Path) -> None:
    """The extraction itself: paths, a test file, a link; not globs nor placeholders."""
    (tmp_path / "docs").mkdir()
    page = tmp_path / "docs" / "probe.md"
    page.write_text(
        "See `cabinet/db.py`, `tests/web/tour.py::Stop`, `test_rules.py`, [x](rules.md#a),\n"
        "`*/cli.py`, `/r/<code>`, `tests/{tier}`, `flask run`, `cabinet/db.transaction`.\n"
        "```\ncabinet/nowhere.py\n```\n",
        encoding="utf-8",
    )
    named = named_paths(page, tmp_path)
    assert named == [
        "cabinet/nowhere.py",
        "cabinet/db.py",
        "tests/web/tour.py",
        "test_rules.py",
        "cabinet/db.transaction",
        "docs/rules.md",
    ]
    assert [exists(path) for path in named] == [False, True, True, True, True, True]
