"""A Last-Event-ID whose number is not plain ASCII digits (`str.isdigit` accepts "²", which
int() refuses; 5,000 digits pass isdigit and exceed int()'s limit) counts as unknown: the
stream goes on from now instead of failing."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from minicors.reload import ReloadHub


@pytest.mark.parametrize("number", ["\u00b2", "1\u00b2", "9" * 5000])
async def test_an_odd_event_number_is_treated_as_unknown(number: str) -> None:
    hub = ReloadHub(heartbeat_s=30)
    stream = hub.stream(f"{hub.instance}:{number}")
    assert b"event: hello" in await stream.__anext__()
    got: list[bytes] = []

    async def next_piece() -> None:
        got.append(await stream.__anext__())  # reads Last-Event-ID, then waits for an event

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(next_piece)
            await trio.testing.wait_all_tasks_blocked()
            hub.publish("reload")
    await stream.aclose()  # type: ignore[attr-defined]
    assert b"event: reload" in got[0]
