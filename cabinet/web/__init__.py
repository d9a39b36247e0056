"""The cabinet's shell: sign-in wiring, template filters, error pages, security headers."""
