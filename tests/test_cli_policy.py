"""What `serve` says about its CORS policy: the effective policy once at start-up on stderr (a
replaced default shows), a warning when the API's paging headers are not exposed, and an access
log line that says when the browser will refuse a credentialed answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from .procs import running

LOCAL = "http://localhost:5173"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    (root / "data.json").write_text('{"a": 1}\n')
    (tmp_path / "db.json").write_text('{"items": [{"id": 1}]}\n')
    return root


def start_up(args: list[str]) -> tuple[str, str]:
    """The first stdout line and everything on stderr of a `serve` that is stopped at once."""
    with running(args) as srv:
        first = srv.first_line
        code, _, err = srv.stop()
    assert code == 0
    return first, err


def test_the_effective_policy_is_printed_once_at_start_up(site: Path) -> None:
    first, err = start_up([str(site), "--port", "0"])
    assert first.startswith("minicors: serving ")  # the contract's first line is unchanged
    lines = [line for line in err.splitlines() if line.startswith("minicors: cors: ")]
    assert lines == [
        "minicors: cors: origins loopback (localhost, 127.0.0.1, [::1]; any port) (default) "
        "| methods GET, HEAD, POST, PUT, PATCH, DELETE",
        "minicors: cors: headers any requested | exposed ETag, Link, Location, X-Total-Count "
        "| credentials no | max-age 600 s",
    ]


def test_a_replaced_default_is_visible_at_start_up(site: Path) -> None:
    _, err = start_up([str(site), "--port", "0", "--allow-origin", "https://app.test",
                       "--expose-header", "X-Request-Id"])  # fmt: skip
    assert "minicors: cors: origins https://app.test | methods" in err
    assert "| exposed X-Request-Id |" in err
    _, err = start_up([str(site), "--port", "0", "--allow-origin", "+https://app.test"])
    assert "origins loopback (localhost, 127.0.0.1, [::1]; any port), https://app.test |" in err


def test_api_paging_headers_not_exposed_are_warned_about(site: Path) -> None:
    api = ["--api", str(site.parent / "db.json")]
    _, err = start_up([str(site), "--port", "0", *api, "--expose-header", "X-Request-Id"])
    assert (
        "minicors: warning: the API's paging headers Link, X-Total-Count are not exposed, so a "
        "page cannot read them; add --expose-header Link --expose-header X-Total-Count"
    ) in err
    for fine in (["--expose-header", "+X-Request-Id"], [], ["--expose-header", "*"]):
        _, err = start_up([str(site), "--port", "0", *api, *fine])
        assert "paging headers" not in err, fine


def test_a_credentialed_request_the_browser_will_refuse_is_logged_so(site: Path) -> None:
    with running([str(site), "--port", "0"]) as srv:
        status, headers, _ = srv.request(
            "GET", "/data.json", headers={"Origin": LOCAL, "Cookie": "session=1"}
        )
        assert status == 200 and headers["access-control-allow-origin"] == LOCAL
        status, _, _ = srv.request("GET", "/data.json", headers={"Origin": LOCAL})
        assert status == 200
        _, _, err = srv.stop()
    lines = [line for line in err.splitlines() if '"GET /data.json HTTP/1.1" 200' in line]
    assert len(lines) == 2
    assert lines[0].endswith(
        "cors: the request carries Cookie (credentials: 'include') and the policy sends no "
        "Access-Control-Allow-Credentials: the browser refuses the response; add "
        "--allow-credentials"
    )
    assert "cors:" not in lines[1]
