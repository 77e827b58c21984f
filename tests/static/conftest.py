"""What the static-file tests share: one request helper, header and descriptor probes, and the
`files` handler over the module's own `root` fixture (each module builds its own tree)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from minicors.messages import FileBody, Request, Response
from minicors.options import StaticOptions
from minicors.static import StaticFiles


@pytest.fixture
def files(root: Path) -> StaticFiles:
    """Default options over the requesting module's `root` tree."""
    return StaticFiles(str(root), StaticOptions())


def get(
    files: StaticFiles,
    target: str,
    *headers: tuple[str, str],
    method: str = "GET",
    close: bool = False,
) -> Response:
    """`files.handle` for one request.  `close` releases a file body's descriptor at once, for
    callers that look only at the status and headers."""
    response = files.handle(Request.build(method, target, list(headers)))
    if close and isinstance(response.body, FileBody):
        response.body.close()
    return response


def header(response: Response, name: str) -> str | None:
    value = response.header(name.encode())
    return None if value is None else value.decode("latin-1")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))
