"""The event stream: hello first, events as they are published, replay after Last-Event-ID,
a keep-alive comment when idle; on trio's autojump clock, so no real time passes."""

from __future__ import annotations

import json

import trio

from minicors.reload import ReloadHub


async def pieces(hub: ReloadHub, last: str | None, count: int) -> list[bytes]:
    out: list[bytes] = []
    stream = hub.stream(last)
    async for piece in stream:
        out.append(piece)
        if len(out) == count:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    return out


def field(piece: bytes, name: str) -> str:
    for line in piece.decode().splitlines():
        if line.startswith(name + ": "):
            return line[len(name) + 2 :]
    raise AssertionError(f"no {name} in {piece!r}")


async def test_a_stream_says_hello_then_carries_what_is_published(
    autojump_clock: trio.abc.Clock,
) -> None:
    hub = ReloadHub(heartbeat_s=30)
    got: list[bytes] = []

    async def listen() -> None:
        got.extend(await pieces(hub, None, 3))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(listen)
        await trio.sleep(1)
        hub.publish("css", ("/a.css",))
        await trio.sleep(1)
        hub.publish("reload")
    assert field(got[0], "event") == "hello" and field(got[0], "data") == hub.instance
    assert got[0].startswith(b"retry: ")
    assert field(got[1], "event") == "css" and json.loads(field(got[1], "data")) == ["/a.css"]
    assert field(got[2], "event") == "reload"
    assert field(got[1], "id") == f"{hub.instance}:1" and field(got[2], "id") == f"{hub.instance}:2"


async def test_a_reconnecting_page_gets_what_it_missed(autojump_clock: trio.abc.Clock) -> None:
    hub = ReloadHub()
    for _ in range(3):
        hub.publish("reload")
    got = await pieces(hub, f"{hub.instance}:1", 3)
    assert [field(p, "id") for p in got[1:]] == [f"{hub.instance}:2", f"{hub.instance}:3"]


async def test_a_page_of_an_earlier_run_gets_no_replay(autojump_clock: trio.abc.Clock) -> None:
    hub = ReloadHub(heartbeat_s=5)
    hub.publish("reload")
    got = await pieces(hub, "another-run:1", 2)
    assert b"event: hello" in got[0]
    assert got[1] == b": keep-alive\n\n"  # nothing replayed: hello alone makes it reload


async def test_more_missed_than_kept_reloads_the_page(autojump_clock: trio.abc.Clock) -> None:
    hub = ReloadHub()
    for _ in range(150):  # more than the history holds
        hub.publish("css", ("/a.css",))
    got = await pieces(hub, f"{hub.instance}:2", 2)
    assert field(got[1], "event") == "reload"


async def test_an_idle_stream_gets_keep_alive_comments(autojump_clock: trio.abc.Clock) -> None:
    hub = ReloadHub(heartbeat_s=15)
    start = trio.current_time()
    got = await pieces(hub, None, 3)
    assert got[1:] == [b": keep-alive\n\n"] * 2
    assert 29 <= trio.current_time() - start <= 31
