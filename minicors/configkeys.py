"""How a key of the config file may be spelt, and the nearest real key for a wrong one.

A newcomer's first guess is the flag's own spelling (`allow_origin` for `--allow-origin`,
`max_age` for `--max-age`), so it is accepted next to the key's own name, with `-` or `_`
(`allow-origin`).  A key that is still unknown gets the nearest real one (difflib), in the
same table or in another (`port` under `[cors]`: "did you mean top-level port?").
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping

Table = str | None  # a section's name; None is the top level

# Per table, the flag's spelling of a key (underscores for dashes) -> the key.
FLAG_SPELLINGS: dict[Table, dict[str, str]] = {
    "limits": {
        "head_timeout": "head_timeout_s",
        "body_timeout": "body_timeout_s",
        "send_timeout": "send_timeout_s",
        "keepalive_timeout": "keepalive_timeout_s",
        "grace_period": "grace_period_s",
    },
    "static": {"mime_type": "mime_types"},
    "api": {"api_prefix": "prefix", "delay": "delay_ms"},
    "tls": {"tls_cert": "cert_file", "tls_key": "key_file"},
    "cors": {
        "allow_origin": "allow_origins",
        "allow_method": "allow_methods",
        "allow_header": "allow_headers",
        "expose_header": "expose_headers",
        "max_age": "max_age_s",
    },
}


def canonical_key(table: Table, key: str, keys: Collection[str]) -> str | None:
    """The key `key` means in `table` (whose keys are `keys`), or None when it means none."""
    spelt = key.replace("-", "_")
    if spelt in keys:
        return spelt
    known = FLAG_SPELLINGS.get(table, {}).get(spelt)
    return known if known is not None and known in keys else None


def _where(table: Table, key: str) -> str:
    return f"top-level {key}" if table is None else f"[{table}] {key}"


def suggestion(
    table: Table, key: str, tables: Mapping[Table, Collection[str]], sections: Collection[str]
) -> str:
    """The hint for the unknown `key` of `table`: "; did you mean ...?", or "" if none is near.

    `tables` holds every table's keys (None: the top level); `sections` the names that are
    tables of their own (`[headers]`)."""
    spelt = key.replace("-", "_")
    own = tables.get(table, ())
    negated = canonical_key(table, spelt[3:], own) if spelt.startswith("no_") else None
    if negated is not None:  # the `--no-listing` flag's spelling: the key is `listing`
        return f"; write {negated} = false"
    if spelt in sections and table is not None:
        return f"; did you mean the [{spelt}] table?"
    for other, keys in tables.items():  # the right key in the wrong table
        if other != table and canonical_key(other, spelt, keys):
            return f"; did you mean {_where(other, spelt)}?"
    names = [*own, *FLAG_SPELLINGS.get(table, {})]
    if table is None:
        names += [f"[{s}]" for s in sections]
    near = difflib.get_close_matches(spelt, names, 1)
    if near:
        return f"; did you mean {near[0]}?"
    elsewhere = {
        name: _where(other, name)
        for other, keys in tables.items()
        if other != table
        for name in [*keys, *FLAG_SPELLINGS.get(other, {})]
    }
    near = difflib.get_close_matches(spelt, list(elsewhere), 1)
    return f"; did you mean {elsewhere[near[0]]}?" if near else ""
