"""The response headers a user adds to static answers (`--header`, `[headers]`), checked once.

A rule is ("/path/glob", "Name", "value").  Names that would break what minicors itself
guarantees (CORS, framing, content coding, its merged `Vary`) are refused at start-up with
the reason and the fix, as are names and values HTTP does not allow; so a bad rule stops the
server instead of garbling answers.
"""

from __future__ import annotations

import re

from .errors import ConfigError
from .pathglob import PathGlob, compile_glob

ALL_PATHS = "/**"  # the glob of `[headers]` itself and of `--header`

HeaderRule = tuple[str, str, str]  # (path glob, name, value)
CompiledRule = tuple[PathGlob, bytes, bytes]  # (glob, lower-case name, value)

# RFC 9110 §5.1: field-name = token; §5.6.2: the characters of a token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

_FRAMING = "minicors frames every answer itself (RFC 9112 §6); a second value breaks the body"
# RFC 9110 §7.6.1: these describe one connection, not the resource behind the answer.
_HOP = "it is a hop-by-hop header (RFC 9110 §7.6.1) that minicors manages per connection"
_REFUSED: dict[str, str] = {
    "content-length": _FRAMING,
    "transfer-encoding": _FRAMING,
    "content-range": "minicors sets it on 206 and 416 answers (RFC 9110 §14.4)",
    "content-encoding": "minicors sets it when it sends a .br/.gz sibling or gzips on the fly "
    "(RFC 9110 §8.4); a wrong one makes the browser garble the body",
    "vary": "minicors builds Vary itself from what each answer depends on (Accept-Encoding, "
    "Origin)",
    "date": "minicors sends it on every response (RFC 9110 §6.6.1)",
    "server": "minicors sends it on every response",
    "connection": _HOP,
    "keep-alive": _HOP,
    "proxy-connection": _HOP,
    "te": _HOP,
    "trailer": _HOP,
    "upgrade": _HOP,
}


def check_header(name: str, value: str) -> tuple[bytes, bytes]:
    """(lower-case name, value) as they are sent, or ValueError saying what is wrong and the
    fix (the caller names the header before it: "header 'Vary': refused: ...")."""
    if not _TOKEN.fullmatch(name):
        raise ValueError(
            "not a header name (RFC 9110 §5.1: letters, digits and !#$%&'*+-.^_`|~); "
            "write 'Name: value', e.g. 'Cross-Origin-Opener-Policy: same-origin'"
        )
    lower = name.lower()
    if lower.startswith("access-control-"):
        raise ValueError(
            "refused: the CORS policy sets the Access-Control-* headers; use the CORS "
            "settings instead (--allow-origin, --expose-header, ... or [cors])"
        )
    reason = _REFUSED.get(lower)
    if reason is not None:
        raise ValueError(f"refused: {reason}; remove it")
    if any(c in value for c in "\r\n\x00"):
        # RFC 9110 §5.5: CR, LF and NUL are never part of a field value (header injection).
        raise ValueError("CR, LF or NUL in the value (RFC 9110 §5.5); write it on one line")
    if not all(" " <= c <= "~" or c == "\t" for c in value):
        raise ValueError(
            "the value holds a character that is not visible ASCII (RFC 9110 §5.5); "
            "percent-encode it"
        )
    # RFC 9110 §5.5: whitespace around a field value is not part of it.
    return lower.encode("ascii"), value.strip(" \t").encode("ascii")


def compile_rules(rules: tuple[HeaderRule, ...]) -> tuple[CompiledRule, ...]:
    """`rules` checked and compiled, or ConfigError naming the rule, the problem and the fix."""
    out: list[CompiledRule] = []
    seen: set[tuple[str, bytes]] = set()
    globs: dict[str, PathGlob] = {}
    for rule in rules:
        if len(rule) != 3 or not all(isinstance(x, str) for x in rule):
            raise ConfigError(f"header rule {rule!r} must be (path glob, name, value) strings")
        path, name, value = rule
        glob = globs.get(path)
        if glob is None:
            glob = globs[path] = compile_glob(path, "header path")
        try:
            lower, raw = check_header(name, value)
        except ValueError as exc:
            where = "" if path == ALL_PATHS else f" for {path}"
            raise ConfigError(f"header {name!r}{where}: {exc}") from None
        if (path, lower) in seen:
            raise ConfigError(
                f"header {name!r} is given twice for {path}; give it once (join several "
                "values with ', ')"
            )
        seen.add((path, lower))
        out.append((glob, lower, raw))
    return tuple(out)


def rules_from_table(table: object) -> tuple[HeaderRule, ...]:
    """The rules of a `[headers]` table: `Name = "value"` keys for every path, then one
    `[headers."/glob"]` table per glob in the file's order (after the plain keys, so a path's
    value replaces the every-path one).  ConfigError names what is wrong and the fix."""
    if not isinstance(table, dict):
        raise ConfigError(
            '[headers] must be a table: [headers] then Cross-Origin-Opener-Policy = "same-origin"'
        )
    everywhere: list[HeaderRule] = []
    by_path: list[HeaderRule] = []
    for key, value in table.items():
        if isinstance(value, str):
            everywhere.append((ALL_PATHS, key, value))
        elif isinstance(value, dict) and key.startswith("/"):
            for name, text in value.items():
                if not isinstance(text, str):
                    raise ConfigError(
                        f'[headers."{key}"] {name} must be a string, got {text!r}; '
                        f'write {name} = "value"'
                    )
                by_path.append((key, name, text))
        elif isinstance(value, dict):
            raise ConfigError(
                f"[headers] {key!r} is a table but not a path; a table under [headers] is "
                'a path glob starting with "/", e.g. [headers."/wasm/**"]'
            )
        else:
            raise ConfigError(
                f'[headers] {key} must be a string, got {value!r}; write {key} = "value"'
            )
    rules = (*everywhere, *by_path)
    compile_rules(rules)
    return rules
