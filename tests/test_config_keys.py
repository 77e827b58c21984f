"""The configuration file as a newcomer writes it: the flag's own spelling works, a wrong key is
answered with the right one by name, `--print-config` turns a command line into a file that
`--config` reads back, `--header` reaches the wire, and the README's key table is complete."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from minicors.cli import build_parser
from minicors.config import SECTIONS, TOP_KEYS, load, read_toml
from minicors.configdump import dump_config
from minicors.errors import ConfigError

from .procs import run_to_exit, running

README = Path(__file__).resolve().parent.parent / "README.md"


def _toml(tmp_path: Path, text: str) -> str:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return str(path)


# --- spellings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ('[cors]\nallow_origin = ["https://a.test"]\n', "cors.allow_origins", ("https://a.test",)),
        ('[cors]\nallow-origin = ["https://a.test"]\n', "cors.allow_origins", ("https://a.test",)),
        ('[cors]\nallow_origins = "https://a.test"\n', "cors.allow_origins", ("https://a.test",)),
        ("[cors]\nmax_age = 60\n", "cors.max_age_s", 60),
        ("[cors]\nmax-age-s = 60\n", "cors.max_age_s", 60),
        ('[cors]\nexpose_header = "+X-Id"\n', "cors.expose_headers", ("+X-Id",)),
        ("[limits]\nhead_timeout = 3\n", "limits.head_timeout_s", 3.0),
        ("[limits]\nmax-body-bytes = 5\n", "limits.max_body_bytes", 5),
        ('[api]\napi_prefix = "/v1"\n', "api.prefix", "/v1"),
        ("access-log = false\n", "access_log", False),
    ],
)
def test_the_flags_spelling_is_a_key(tmp_path: Path, text: str, key: str, value: object) -> None:
    assert read_toml(_toml(tmp_path, text))[key] == value


def test_a_flag_spelt_key_takes_effect(tmp_path: Path) -> None:
    config = load({}, _toml(tmp_path, '[cors]\nallow_origin = "+https://a.test"\nmax_age = 9\n'))
    policy = config.router.default
    assert policy.settings.max_age_s == 9
    assert policy.origins == ("loopback", "https://a.test")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[cors]\nport = 1\n", "did you mean top-level port?"),
        ("max_age = 1\n", "did you mean [cors] max_age?"),
        ("[cors]\nalow_origins = []\n", "did you mean allow_origins?"),
        ("[cors]\norigins = []\n", "did you mean allow_origins?"),
        ("[static]\nno_listing = true\n", "write listing = false"),
        ("[static]\nno-precompressed = true\n", "write precompressed = false"),
        ("[limits]\nmax_head_byte = 1\n", "did you mean max_head_bytes?"),
        ("[static]\nheaders = 1\n", "did you mean the [headers] table?"),
        ("cor = 1\n", "did you mean [cors]?"),
        ('[cors]\nallow_origin = []\nallow_origins = ["x"]\n', "are the same setting; keep one"),
        ('[[cors.route]]\npath = "/a"\nmax_ag = 1\n', "[[cors.route]] #1 max_ag"),
    ],
)
def test_a_wrong_key_is_corrected_by_name(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as caught:
        read_toml(_toml(tmp_path, text))
    assert needle in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_wrong_key_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = run_to_exit(["serve", str(tmp_path), "-c", _toml(tmp_path, "[cors]\nport = 1\n")])
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "did you mean top-level port?" in done.stderr


# --- --print-config ---------------------------------------------------------------------------


def test_print_config_reads_back_as_the_same_configuration(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (tmp_path / "db.json").write_text('{"items": []}\n')
    flags = [
        "serve", str(site), "--api", str(tmp_path / "db.json"), "-p", "0", "-s",
        "--allow-origin", "+https://app.test", "--expose-header", "+X-Request-Id",
        "--allow-credentials", "--max-age", "30", "--mime-type", "glb=model/gltf-binary",
        "--header", "Cross-Origin-Opener-Policy: same-origin", "--head-timeout", "2.5",
        "--no-listing", "--delay", "5",
    ]  # fmt: skip
    first = run_to_exit([*flags, "--print-config"])
    assert first.returncode == 0, first.stderr
    saved = tmp_path / "saved.toml"
    saved.write_text(first.stdout)
    # The file alone gives the same configuration, printed the same way.
    again = run_to_exit(["serve", "-c", str(saved), "--print-config"])
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    config = load({}, str(saved))
    assert config.port == 0 and config.static.spa and not config.static.listing
    assert config.limits.head_timeout_s == 2.5
    assert config.api is not None and config.api.delay_ms == 5
    policy = config.router.default
    assert policy.settings.allow_credentials and policy.settings.max_age_s == 30
    assert policy.origins == ("loopback", "https://app.test")
    assert ("/**", "Cross-Origin-Opener-Policy", "same-origin") in config.static.headers
    assert (".glb", "model/gltf-binary") in config.static.mime_types


def test_print_config_keeps_routes_and_per_path_headers(tmp_path: Path) -> None:
    source = _toml(
        tmp_path,
        'root = "."\n[cors]\nallow_origins = ["https://a.test"]\n'
        '[[cors.route]]\npath = "/api/**"\nallow_credentials = true\n'
        'allow_origins = ["https://b.test"]\n'
        '[headers]\nX-Frame-Options = "DENY"\n[headers."/wasm/**"]\n'
        'Cross-Origin-Embedder-Policy = "require-corp"\n',
    )
    text = dump_config(load({}, source))
    back = tmp_path / "back.toml"
    back.write_text(text)
    assert dump_config(load({}, str(back))) == text
    settings = read_toml(str(back))
    assert settings["static.headers"] == (
        ("/**", "X-Frame-Options", "DENY"),
        ("/wasm/**", "Cross-Origin-Embedder-Policy", "require-corp"),
    )
    assert settings["cors.route"][0][0] == "/api/**"
    assert settings["cors.route"][0][1]["allow_credentials"] is True


# --- --header on the wire ---------------------------------------------------------------------


def test_header_flags_reach_every_static_answer(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<p>x</p>\n")
    args = [
        str(tmp_path), "-p", "0", "--no-access-log",
        "--header", "Cross-Origin-Opener-Policy: same-origin",
        "--header", "Cross-Origin-Embedder-Policy:require-corp",
    ]  # fmt: skip
    with running(args) as srv:
        for path in ("/", "/index.html", "/nothing-here"):
            _, headers, _ = srv.request("GET", path)
            assert headers["cross-origin-opener-policy"] == "same-origin", path
            assert headers["cross-origin-embedder-policy"] == "require-corp", path
        srv.stop(signal.SIGTERM)


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("Access-Control-Allow-Origin: *", "CORS settings"),
        ("Content-Length: 3", "frames every answer"),
        ("Connection: close", "hop-by-hop"),
        ("no colon here", "use 'NAME: VALUE'"),
    ],
)
def test_a_header_that_would_break_answers_stops_start_up(
    tmp_path: Path, value: str, needle: str
) -> None:
    done = run_to_exit(["serve", str(tmp_path), "-p", "0", "--header", value])
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and needle in done.stderr, done.stderr


def test_a_header_table_that_would_break_answers_stops_start_up(tmp_path: Path) -> None:
    config = _toml(tmp_path, '[headers."/x/**"]\nTransfer-Encoding = "chunked"\n')
    done = run_to_exit(["serve", str(tmp_path), "-p", "0", "-c", config])
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "for /x/**" in done.stderr, done.stderr


# --- the README's table -----------------------------------------------------------------------


def _readme_table() -> dict[str, str]:
    """`key` -> flag column of the README's configuration table."""
    rows = re.findall(r"^\| `([^`]+)` \| ([^|]+) \|", README.read_text(), re.MULTILINE)
    return {key: flags.strip() for key, flags in rows}


def test_the_readme_documents_every_key_with_its_flag() -> None:
    table = _readme_table()
    serve = build_parser().command("serve")
    flag_of = {a.dest: a.option_strings[-1] for a in serve._actions if a.option_strings}
    expected = {name: name for name in TOP_KEYS}
    expected.update({f"[{s}] {k}": f"{s}.{k}" for s, keys in SECTIONS.items() for k in keys})
    for key, dest in expected.items():
        assert key in table, f"README's configuration table lacks {key}"
        if dest in flag_of:
            assert f"`{flag_of[dest]}" in table[key], (key, table[key])
    assert "[headers]" in table and "`--header" in table["[headers]"]
    assert "[[cors.route]]" in table
