"""Every TLS test runs with a temporary `$HOME` and `$MINICORS_HOME` (also seen by the CLI
subprocesses it starts), so none of them reads or writes the real user's CA or NSS database."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def ca_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    ca = tmp_path / "minicors-home"
    monkeypatch.setenv("MINICORS_HOME", str(ca))
    return ca
