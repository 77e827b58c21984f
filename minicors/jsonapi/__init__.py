"""A JSON REST API over one file: the store and its query language are pure; persistence
makes every acknowledged write durable (off the event loop)."""

from __future__ import annotations

from .api import JsonApi

__all__ = ["JsonApi"]
