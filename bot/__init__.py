"""Wirewatch: a news-alert bot that watches feeds and tells chats when tracked stories happen."""

__version__ = "0.1.0"
