"""Hostile and broken feeds, and SSRF attempts, against the real bot."""
