"""What the JSON API tests share: the API's file.

`db_file` is `db.json` in the test's temporary directory, holding `db_document` as minicors
writes it (two-space indent, trailing newline).  A module that needs other data overrides
the `db_document` fixture.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def db_document() -> dict[str, Any]:
    """The document `db_file` holds: one collection with one item, and one resource."""
    return {"items": [{"id": 1, "v": 0}], "profile": {"name": "me"}}


@pytest.fixture
def db_file(tmp_path: Path, db_document: dict[str, Any]) -> Path:
    path = tmp_path / "db.json"
    path.write_text(json.dumps(db_document, indent=2) + "\n")
    return path
