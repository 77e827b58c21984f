"""The floor: the least work an h11 + trio server can do per request, to measure minicors against.

h11 parses every request; the answer is a pre-built `h11.Response` event (built once per
(path, origin allowed, requested headers) and per second for `Date`), serialised by `conn.send`
for the events and written with one `send_all`.  Files up to 1 MiB are read once at start-up;
larger ones are streamed in 1 MiB `pread`s.  No routing beyond a dict lookup, no logging.
"""

from __future__ import annotations

import functools
import os
import sys
import time

import h11
import trio

ORIGIN = b"http://localhost:5173"
METHODS = b"GET, HEAD, POST, PUT, PATCH, DELETE"
EXPOSE = b"ETag, Link, Location, X-Total-Count"
PREFLIGHT_VARY = b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
CHUNK = 1 << 20
TYPES = {".json": b"application/json", ".js": b"text/javascript", ".html": b"text/html"}


class Floor:
    def __init__(self, root: str) -> None:
        self.files: dict[bytes, tuple[str, int, bytes | None]] = {}
        for name in os.listdir(root):
            path = os.path.join(root, name)
            if not os.path.isfile(path):
                continue
            size = os.path.getsize(path)
            with open(path, "rb") as f:
                body = f.read() if size <= CHUNK else None
            self.files[b"/" + name.encode()] = (path, size, body)
        self.cache: dict[tuple[bytes, bytes, bool, bytes | None], h11.Response] = {}
        self.second = -1

    def head(self, req: h11.Request) -> tuple[h11.Response, tuple[str, int, bytes | None] | None]:
        now = int(time.time())
        if now != self.second:  # Date changes once a second: rebuild the cached events then
            self.second, self.cache = now, {}
            self.date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now)).encode()
        fields = dict(req.headers)
        allowed = fields.get(b"origin") == ORIGIN
        acrh = fields.get(b"access-control-request-headers")
        file = self.files.get(req.target)
        key = (req.method, req.target, allowed, acrh)
        if (event := self.cache.get(key)) is None:
            event = self.cache[key] = self.build(req.method, file, allowed, acrh)
        return event, file

    def build(
        self,
        method: bytes,
        file: tuple[str, int, bytes | None] | None,
        ok: bool,
        acrh: bytes | None,
    ) -> h11.Response:
        base = [(b"date", self.date), (b"server", b"floor")]
        if method == b"OPTIONS":
            if not ok:
                return h11.Response(status_code=403, headers=[*base, (b"vary", PREFLIGHT_VARY)])
            cors = [
                (b"access-control-allow-origin", ORIGIN),
                (b"access-control-allow-methods", METHODS),
            ]
            cors += [(b"access-control-allow-headers", acrh)] if acrh else []
            cors += [(b"access-control-max-age", b"600"), (b"vary", PREFLIGHT_VARY)]
            return h11.Response(status_code=204, headers=[*base, *cors, (b"content-length", b"0")])
        if file is None:
            return h11.Response(status_code=404, headers=[*base, (b"content-length", b"0")])
        kind = TYPES.get(os.path.splitext(file[0])[1], b"application/octet-stream")
        headers = [*base, (b"content-type", kind), (b"content-length", str(file[1]).encode())]
        if ok:
            headers += [(b"access-control-allow-origin", ORIGIN)]
            headers += [(b"access-control-expose-headers", EXPOSE)]
        return h11.Response(status_code=200, headers=[*headers, (b"vary", b"Origin")])

    async def respond(
        self, stream: trio.SocketStream, conn: h11.Connection, req: h11.Request
    ) -> None:
        event, file = self.head(req)
        data = conn.send(event) or b""
        if file is not None and req.method == b"GET" and event.status_code == 200:
            path, size, body = file
            if body is None:  # a large file: stream it in bounded reads
                await stream.send_all(data)
                with open(path, "rb") as f:
                    for offset in range(0, size, CHUNK):
                        chunk = os.pread(f.fileno(), CHUNK, offset)
                        await stream.send_all(conn.send(h11.Data(data=chunk)) or b"")
                data = b""
            else:
                data += conn.send(h11.Data(data=body)) or b""
        await stream.send_all(data + (conn.send(h11.EndOfMessage()) or b""))

    async def connection(self, stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        request: h11.Request | None = None
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await stream.receive_some(65536))
                elif isinstance(event, h11.Request):
                    request = event
                elif isinstance(event, h11.EndOfMessage) and request is not None:
                    await self.respond(stream, conn, request)
                    if conn.our_state is not h11.DONE:
                        break  # Connection: close (or HTTP/1.0): h11 wants MUST_CLOSE
                    conn.start_next_cycle()
                elif not isinstance(event, h11.Data):
                    break  # ConnectionClosed
        except (h11.ProtocolError, trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            await stream.aclose()


def main() -> None:
    root, port = sys.argv[1], int(sys.argv[2])
    floor = Floor(root)
    print(f"floor: serving {root} at http://127.0.0.1:{port}", flush=True)
    serve = functools.partial(
        trio.serve_tcp, floor.connection, port, host="127.0.0.1", backlog=1024
    )
    try:
        trio.run(serve)
    except* KeyboardInterrupt:
        pass  # SIGINT ends the floor quietly (and lets a profiler write its report)


if __name__ == "__main__":
    main()
