"""Byte ranges (RFC 9110 §14) as a pure function of the `Range` value and the size.

One range per request: anything else is answered with the whole representation, which also
removes range-amplification abuse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# --- byte ranges (RFC 9110 §14) ---------------------------------------------------------------

_RANGE_SPEC = re.compile(r"([0-9]*)-([0-9]*)")
_MAX_RANGE_SPECS = 100  # more specs than this is abuse, not a video player: serve 200 unparsed
_HUGE = 10**18  # stands in for any position with more digits than a file size can have


@dataclass(frozen=True, slots=True, kw_only=True)
class RangeDecision:
    """200 (whole file), 206 (`length` bytes from `start`) or 416 (none of it is there)."""

    status: int
    start: int = 0
    length: int = 0

    def content_range(self, size: int) -> bytes:
        if self.status == 416:
            return b"bytes */%d" % size
        return b"bytes %d-%d/%d" % (self.start, self.start + self.length - 1, size)


def _position(digits: str) -> int:
    # Bounded before int(): a 5000-digit position would otherwise cost (and raise past
    # sys.int_info.default_max_str_digits).
    return _HUGE if len(digits) > 18 else int(digits)


def parse_range(value: str | None, size: int) -> RangeDecision:
    """The answer to `Range: value` for a representation of `size` bytes.

    Choices where RFC 9110 §14.2 leaves room: a unit other than `bytes`, a syntactically invalid
    set (`bytes=5-2`, `bytes=a-b`) and a set of more than one range are ignored (200 with the
    whole file: no multipart/byteranges, which also removes range-amplification abuse).  An
    empty file has no byte to point at, so any Range on it is ignored too.
    """
    whole = RangeDecision(status=200, start=0, length=size)
    if value is None:
        return whole
    unit, eq, spec_set = value.partition("=")
    if not eq or unit.strip(" \t").lower() != "bytes" or size == 0:
        return whole
    specs = [s.strip(" \t") for s in spec_set.split(",", _MAX_RANGE_SPECS + 1)]
    specs = [s for s in specs if s]
    if not specs or len(specs) > _MAX_RANGE_SPECS:
        return whole
    decisions: list[RangeDecision] = []
    for spec in specs:
        m = _RANGE_SPEC.fullmatch(spec)
        if m is None:
            return whole
        first, last = m.groups()
        if not first:
            if not last:
                return whole  # "-" alone
            suffix = _position(last)
            if suffix == 0:  # §14.1.3: a zero suffix selects nothing
                decisions.append(RangeDecision(status=416))
            else:
                start = max(0, size - suffix)
                decisions.append(RangeDecision(status=206, start=start, length=size - start))
            continue
        start = _position(first)
        end = _position(last) if last else _HUGE
        if end < start:  # §14.1.1: last-pos below first-pos makes the spec invalid
            return whole
        if start >= size:
            decisions.append(RangeDecision(status=416))
        else:
            end = min(end, size - 1)
            decisions.append(RangeDecision(status=206, start=start, length=end - start + 1))
    if len(decisions) > 1:
        return whole
    return decisions[0]
