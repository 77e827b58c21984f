"""The table bench/api_scale.py prints: figures, and where each target of the issue stands."""

from __future__ import annotations

from dataclasses import dataclass

NEEDLE = "needle"  # in one title in 1,000: what `q=` looks for
READS = {
    "GET by id": None,  # a random id per request (Lua)
    "page 1": "/items?_page=1&_limit=10",
    "filter+sort+_limit=10": "/items?done=false&_sort=priority&_order=desc&_limit=10",
    "q=": f"/items?q={NEEDLE}",
    "anchored _like": "/items?title_like=^ab.*z",
}


@dataclass(slots=True)
class Writes:
    file_mb: float
    patch_1: float  # writes/s, one client
    patch_16: float
    bare_ms: float
    first_ms: float
    next_ms: float  # median of the following single PATCHes
    rss_load_mb: float
    rss_reads_mb: float  # after the reads (their caches), before the writes
    rss_writes_mb: float


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def report(
    sizes: list[int],
    reads: dict[tuple[str, int, str], float],
    writes: dict[int, Writes],
    with_js: bool,
) -> str:
    small, big = sizes[0], sizes[-1]
    lines = [
        "| request | "
        + " | ".join(
            f"minicors {s:,}" + (f" | json-server {s:,}" if with_js else "") for s in sizes
        )
        + " |",
        "|---" * (1 + len(sizes) * (2 if with_js else 1)) + "|",
    ]
    for label in READS:
        cells = []
        for s in sizes:
            cells.append(f"{reads[('minicors', s, label)]:,.0f}")
            if with_js:
                cells.append(f"{reads[('json-server', s, label)]:,.0f}")
        lines.append(f"| {label} (req/s) | " + " | ".join(cells) + " |")
    for field, label in (("patch_1", "PATCH, 1 client"), ("patch_16", "PATCH, 16 clients")):
        cells = []
        for s in sizes:
            cells.append(f"{getattr(writes[s], field):,.0f}")
            if with_js:
                cells.append("n/a")
        lines.append(f"| {label} (writes/s) | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Targets at {big:,} items (against minicors at {small:,} in this run):",
        "",
        "| target | figure | verdict |",
        "|---|---|---|",
    ]
    for label, floor in (
        ("GET by id", 0.8),
        ("page 1", 0.8),
        ("filter+sort+_limit=10", 0.1),
        ("q=", 0.1),
    ):
        ratio = reads[("minicors", big, label)] / reads[("minicors", small, label)]
        lines.append(f"| {label} ≥ {floor}x | {ratio:.2f}x | {verdict(ratio >= floor)} |")
    like = reads[("minicors", big, "anchored _like")] / reads[("minicors", big, "q=")]
    lines.append(f"| anchored _like ≈ q= | {like:.2f}x q='s rate | {verdict(like >= 0.5)} |")
    w = writes[big]
    per_write_ms = 1000 / w.patch_1 if w.patch_1 else float("inf")
    lines.append(
        f"| PATCH 1 client ≤ 3x bare write | {per_write_ms:.1f} ms vs {w.bare_ms:.1f} ms"
        f" = {per_write_ms / w.bare_ms:.1f}x | {verdict(per_write_ms <= 3 * w.bare_ms)} |"
    )
    group = w.patch_16 / w.patch_1 if w.patch_1 else 0.0
    lines.append(f"| 16 clients ≥ 10x 1 client | {group:.1f}x | {verdict(group >= 10)} |")
    lines.append(
        f"| first write no slower | {w.first_ms:.0f} ms vs next {w.next_ms:.0f} ms | "
        f"{verdict(w.first_ms <= 1.5 * w.next_ms)} |"
    )
    rss = w.rss_writes_mb / w.file_mb
    lines.append(
        f"| RSS ≤ 4x file under writes | {w.rss_writes_mb:.0f} MB / {w.file_mb:.0f} MB "
        f"= {rss:.1f}x (after load {w.rss_load_mb:.0f} MB, after the reads "
        f"{w.rss_reads_mb:.0f} MB) | {verdict(rss <= 4)} |"
    )
    if with_js:
        for s in sizes:
            for label in READS:
                mine, theirs = reads[("minicors", s, label)], reads[("json-server", s, label)]
                floor = 1.0 if label in ("GET by id", "page 1") else 0.5
                if mine < floor * theirs:
                    lines.append(
                        f"| {label} at {s:,} ≥ {floor}x json-server | "
                        f"{mine / theirs:.2f}x | **missed** |"
                    )
        lines.append("| every other read against json-server | within its floor | met |")
    return "\n".join(lines)
