"""Every fix `minicors check` suggests works when followed as written: each test runs `check`,
follows its fix lines literally (adding the flags, replacing them, or editing the TOML file's
key), runs `check` again and expects the request allowed; and following a fix never drops a
default (the methods, the loopback origins, the exposed headers stay)."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest

from minicors.cli import main

FIX = re.compile(r"^(?:fix|  or): (.*)$")
SET = re.compile(r"^in (?P<file>\S+), set (?P<assignments>.*) under (?P<table>.+)$")


def check(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, list[str], str]:
    """`minicors check ARGS`: exit status, its fix lines, the whole report."""
    status = main(["check", *args])
    report = capsys.readouterr().out
    fixes = [m.group(1) for line in report.splitlines() if (m := FIX.match(line))]
    return status, fixes, report


def without_note(text: str) -> str:
    """A fix's words without its trailing "(why)" remark."""
    return re.sub(r" \([^()]*(?:\([^()]*\)[^()]*)*\)$", "", text)


def write_toml(path: Path, data: dict[str, Any]) -> None:
    """The few shapes a CORS config file has: [cors] and [[cors.route]] tables."""

    def value(v: Any) -> str:
        return str(v).lower() if isinstance(v, bool) else json.dumps(v)

    lines = ["[cors]"]
    cors = data.get("cors", {})
    lines += [f"{k} = {value(v)}" for k, v in cors.items() if k != "route"]
    for route in cors.get("route", []):
        lines.append("[[cors.route]]")
        lines += [f"{k} = {value(v)}" for k, v in route.items()]
    path.write_text("\n".join(lines) + "\n")


def follow(fix: str, args: list[str], files: dict[str, Path]) -> list[str]:
    """`args` after doing what `fix` says (editing the named config file in place)."""
    args = list(args)
    for part in fix.split("; and "):
        part = without_note(part)
        if part.startswith("in the page, write the method as "):
            method = re.match(r"in the page, write the method as '([^']+)'", part)
            assert method is not None, part
            args[args.index("--method") + 1] = method.group(1)
        elif part.startswith("add "):
            args += shlex.split(part.removeprefix("add "))
        elif part.startswith("replace "):
            old, _, new = part.removeprefix("replace ").partition(" with ")
            old_args = shlex.split(old)
            for i in range(len(args) - len(old_args) + 1):
                if args[i : i + len(old_args)] == old_args:
                    del args[i : i + len(old_args)]
                    break
            else:
                raise AssertionError(f"{old!r} is not on the command line {args}")
            args += shlex.split(new)
        else:
            edit = SET.match(part)
            assert edit is not None, f"a fix that cannot be followed as written: {part!r}"
            path = files[edit.group("file")]
            data = tomllib.loads(path.read_text())
            table = data.setdefault("cors", {})
            target = edit.group("table")
            if target != "[cors]":
                route_path = json.loads(target.removeprefix("[[cors.route]] path = "))
                [table] = [r for r in table["route"] if r["path"] == route_path]
            for assignment in edit.group("assignments").split(" and "):
                key, _, raw = assignment.partition(" = ")
                table[key] = tomllib.loads(f"v = {raw}")["v"]
            write_toml(path, data)
    return args


def follow_all(
    capsys: pytest.CaptureFixture[str], args: list[str], files: dict[str, Path] | None = None
) -> list[str]:
    """Run check, follow its first fix, and repeat until allowed (at most 4 rounds); the
    final arguments."""
    for _ in range(4):
        status, fixes, report = check(capsys, args)
        if status == 0:
            return args
        assert fixes, report
        assert not fixes[0].startswith("cannot"), report
        args = follow(fixes[0], args, files or {})
    status, _, report = check(capsys, args)
    assert status == 0, report
    return args


LOCAL = "http://localhost:5173"


@pytest.mark.parametrize(
    "args",
    [
        ["--origin", "https://app.test", "--method", "PUT"],  # origin, at its default
        ["--origin", "https://b.test", "--allow-origin", "https://a.test"],  # origin, given
        ["--origin", LOCAL, "--method", "PROPFIND"],  # method, at its default
        ["--origin", LOCAL, "--method", "PROPFIND", "--allow-method", "GET"],  # method, given
        ["--origin", LOCAL, "--header", "X-Token: 1", "--allow-header", "x-other"],  # header
        ["--origin", LOCAL, "--credentials"],  # credentials
        ["--origin", "https://app.test", "--credentials", "--allow-origin", "*"],  # '*'
        ["--origin", LOCAL, "--header", "Authorization: t", "--allow-header", "*"],
        ["--origin", "null"],
    ],
)
def test_flag_advice_works_when_followed(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    assert check(capsys, args)[0] == 1
    follow_all(capsys, args)


def test_a_lower_case_method_gets_the_page_fix_and_a_server_fix_that_keeps_the_defaults(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["--origin", LOCAL, "--method", "patch"]
    status, fixes, report = check(capsys, args)
    assert status == 1
    assert fixes == [
        "in the page, write the method as 'PATCH': fetch() upper-cases only DELETE, GET, HEAD, "
        "OPTIONS, POST and PUT, so 'patch' is sent as it is and methods compare "
        "case-sensitively",
        "add --allow-method +patch",
    ], report
    assert check(capsys, follow(fixes[0], args, {}))[0] == 0  # the page's fix
    server = follow(fixes[1], args, {})  # the server's fix
    assert check(capsys, server)[0] == 0
    # ... and it keeps the default methods: PUT, DELETE and PATCH preflights still pass.
    for method in ("PUT", "DELETE", "PATCH"):
        again = [*server[: server.index("--method")], "--method", method, *server[-2:]]
        assert check(capsys, again)[0] == 0, again
    # `serve` does not warn about it either (the upper-case spelling is listed too).
    status, _, report = check(capsys, ["--origin", LOCAL, "--method", "PATCH", *server[-2:]])
    assert status == 0 and "warning" not in report


def test_a_new_origin_keeps_the_loopback_default(capsys: pytest.CaptureFixture[str]) -> None:
    args = follow_all(capsys, ["--origin", "https://app.test"])
    assert args[2:] == ["--allow-origin", "+https://app.test"]
    assert check(capsys, ["--origin", LOCAL, *args[2:]])[0] == 0


@pytest.mark.parametrize(
    ("toml", "args"),
    [
        ('allow_origins = ["https://a.test"]', ["--origin", "https://b.test"]),
        ('allow_methods = ["GET", "PUT"]', ["--origin", LOCAL, "--method", "DELETE"]),
        ("", ["--origin", "https://b.test", "--method", "PROPFIND", "--credentials"]),
        ('allow_origins = ["*"]', ["--origin", "https://b.test", "--credentials"]),
        ('allow_headers = ["x-a"]', ["--origin", LOCAL, "--header", "X-B: 1"]),
    ],
)
def test_file_advice_names_the_file_and_key_and_works_when_followed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, toml: str, args: list[str]
) -> None:
    config = tmp_path / "cors.toml"
    config.write_text(f"[cors]\n{toml}\n")
    with_file = [*args, "--config", str(config)]
    status, fixes, report = check(capsys, with_file)
    assert status == 1
    assert f"policy: [cors] in {config}" in report
    assert fixes[0].startswith(f"in {config}, set "), report
    assert "--allow" not in fixes[0]  # the file is edited, not overridden by flags
    follow_all(capsys, with_file, {str(config): config})
    assert "--allow-origin" not in " ".join(with_file)


def test_route_advice_edits_that_route(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "cors.toml"
    config.write_text(
        '[cors]\nallow_origins = ["*"]\n'
        '[[cors.route]]\npath = "/api/**"\nallow_origins = ["https://a.test"]\n'
    )
    args = ["--origin", "https://b.test", "--credentials", "--path", "/api/items"]
    args += ["--config", str(config)]
    status, fixes, report = check(capsys, args)
    assert status == 1
    assert f'policy: [[cors.route]] path = "/api/**" in {config}' in report
    assert fixes[0] == (
        f'in {config}, set allow_origins = ["https://a.test", "https://b.test"] '
        'under [[cors.route]] path = "/api/**"'
    )
    follow_all(capsys, args, {str(config): config})
    routes = tomllib.loads(config.read_text())["cors"]
    assert routes["allow_origins"] == ["*"]  # the default policy was left alone


def test_flags_over_a_file_are_fixed_with_flags(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "cors.toml"
    config.write_text('[cors]\nallow_methods = ["GET", "PUT"]\n')
    args = ["--origin", LOCAL, "--method", "DELETE", "--allow-method", "PATCH"]
    args += ["--config", str(config)]
    status, fixes, report = check(capsys, args)
    assert status == 1
    assert f"policy: [cors] in {config}, with --allow-method from the command line" in report
    assert fixes == ["add --allow-method DELETE"]  # flags replace the file's list
    follow_all(capsys, args)


def test_a_refused_preflight_body_ends_with_checks_fix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from minicors.cors import CorsPolicy
    from minicors.messages import Request

    cases = [
        (CorsPolicy(), "https://app.test", "PUT", None),
        (CorsPolicy(), LOCAL, "patch", None),
        (CorsPolicy(allow_methods=["GET"]), LOCAL, "PUT", None),
        (CorsPolicy(allow_headers=["x-a"]), LOCAL, "GET", "x-b"),
    ]
    for policy, origin, method, header in cases:
        lines = [("origin", origin), ("access-control-request-method", method)]
        if header:
            lines.append(("access-control-request-headers", header))
        response = policy.preflight_response(policy.decide(Request.build("OPTIONS", "/", lines)))
        assert response.status == 403
        assert isinstance(response.body, bytes)
        body_fixes = response.body.decode().splitlines()[1:]
        args = ["--origin", origin, "--method", method]
        args += ["--header", f"{header}: 1"] if header else []
        s = policy.settings
        if s.allow_methods != CorsPolicy().settings.allow_methods:
            args += [a for m in s.allow_methods for a in ("--allow-method", m)]
        if s.allow_headers:
            args += [a for h in s.allow_headers for a in ("--allow-header", h)]
        _, fixes, report = check(capsys, args)
        assert body_fixes, response.body
        assert body_fixes[0] == f"fix: {fixes[0]}", report
        if len(body_fixes) > 1:
            assert body_fixes[1] == f"or: {fixes[1]}"


def test_a_refused_origin_that_no_page_can_have_gets_no_fix() -> None:
    from minicors.cors import CorsPolicy
    from minicors.messages import Request

    policy = CorsPolicy()
    lines = [("origin", "https://app.test/path"), ("access-control-request-method", "PUT")]
    response = policy.preflight_response(policy.decide(Request.build("OPTIONS", "/", lines)))
    assert response.status == 403 and b"fix:" not in bytes(response.body)  # type: ignore[arg-type]
