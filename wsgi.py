"""Entry point for `flask` (found here with no --app) and for WSGI servers."""

from cabinet import create_app

app = create_app()
