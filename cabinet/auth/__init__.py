"""Signing in to the cabinet: e-mail and password, server-side sign-out, idle timeout."""
