"""Hostile and valid HTTP/1.1 request inputs with the verdict minicors's strict parser gives.

The classes follow the strict-mode request tests of nodejs/llhttp, uNetworking/h1spec and the
Transfer-Encoding mutations of defparam/smuggler, restated here in our own bytes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Case:
    name: str  # unique, short, kebab-case
    kind: str  # the class, e.g. "bare-lf", "obs-fold", "cl-te", "te-obfuscation", "chunk-size"
    raw: bytes  # the complete bytes of ONE request attempt as a client sends them
    status: int  # the first (and for refusals, only) status the server answers with
    why: str  # the rule, citing RFC 9112 / RFC 9110 sections
    body: bytes = b""  # accepted requests: the decoded body the application must see
    keep_alive: bool = True  # accepted requests: is a second request glued after `raw` answered too


GLUE = b"GET /glued HTTP/1.1\r\nHost: t\r\n\r\n"

# Limits in force for the table.
MAX_HEAD = 16384
MAX_BODY = 1048576
MAX_CHUNKS = 1000

_MIB = b"b" * MAX_BODY

CASES: tuple[Case, ...] = (
    # ------------------------------------------------------------------ valid baselines
    Case(
        name="get-minimal",
        kind="valid",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\n\r\n",
        status=200,
        why="RFC 9112 §3: request-line, one Host field (RFC 9112 §3.2), empty line.",
    ),
    Case(
        name="get-many-fields",
        kind="valid",
        raw=(
            b"GET /index.html HTTP/1.1\r\n"
            b"Host: www.example.test\r\n"
            b"User-Agent: probe/1.0 (x11; linux)\r\n"
            b"Accept: text/html,application/xml;q=0.9,*/*;q=0.8\r\n"
            b"Accept-Language: en;q=0.5\r\n"
            b"Keep-Alive: 300\r\n"
            b"Connection: keep-alive\r\n"
            b"\r\n"
        ),
        status=200,
        why="RFC 9112 §5: ordinary field lines; keep-alive is the HTTP/1.1 default "
        "(RFC 9112 §9.3).",
    ),
    Case(
        name="get-odd-field-shapes",
        kind="valid",
        raw=b"GET / HTTP/1.1\r\nhOsT:\tt\r\nEmpty:\r\nX-Dumb:++++++\r\nY:  a:b:c  \r\n\r\n",
        status=200,
        why="RFC 9110 §5.1 names are case-insensitive; RFC 9112 §5.1 OWS around the value is "
        "optional and trimmed; an empty value is allowed (RFC 9110 §5.5).",
    ),
    Case(
        name="post-content-length",
        kind="valid",
        raw=b"POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
        status=200,
        why="RFC 9112 §6.2: Content-Length gives the body length.",
        body=b"hello",
    ),
    Case(
        name="post-chunked",
        kind="valid",
        raw=(
            b"POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"c\r\nhello world!\r\n0\r\n\r\n"
        ),
        status=200,
        why="RFC 9112 §7.1: chunked body, decoded by the server.",
        body=b"hello world!",
    ),
    Case(
        name="post-content-length-zero",
        kind="valid",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
        status=200,
        why="RFC 9112 §6.2: Content-Length 0 is an empty body.",
    ),
    Case(
        name="head-request",
        kind="valid",
        raw=b"HEAD /x HTTP/1.1\r\nHost: t\r\n\r\n",
        status=200,
        why="RFC 9110 §9.3.2: HEAD is an ordinary method for the parser.",
    ),
    Case(
        name="upgrade-field-is-plain",
        kind="valid",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
        status=200,
        why="RFC 9110 §7.8: a server may ignore Upgrade and answer normally; the connection "
        "stays HTTP/1.1 and persistent (RFC 9112 §9.3).",
    ),
    # ------------------------------------------------------------------ method
    Case(
        name="method-unknown-token",
        kind="method",
        raw=b"FOO / HTTP/1.1\r\nHost: t\r\n\r\n",
        status=200,
        why="RFC 9112 §3.1 / RFC 9110 §5.6.2: any token is a method; the application decides.",
    ),
    Case(
        name="method-lowercase",
        kind="method",
        raw=b"get / HTTP/1.1\r\nHost: t\r\n\r\n",
        status=200,
        why="RFC 9110 §9.1: methods are case-sensitive, so `get` is a distinct but valid token.",
    ),
    Case(
        name="method-all-tchars",
        kind="method",
        raw=b"A!#$%&'*+-.^_`|~Z / HTTP/1.1\r\nHost: t\r\n\r\n",
        status=200,
        why="RFC 9110 §5.6.2: every tchar is allowed in a token.",
    ),
    Case(
        name="method-query-with-body",
        kind="method",
        raw=(
            b"QUERY /c HTTP/1.1\r\nHost: t\r\nContent-Type: x/q\r\n"
            b"Content-Length: 11\r\n\r\nselect name"
        ),
        status=200,
        why="RFC 9110 §9.1 / RFC 9112 §6.2: an extension method with a Content-Length body.",
        body=b"select name",
    ),
    Case(
        name="method-non-tchar-paren",
        kind="method",
        raw=b"G(T / HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9110 §5.6.2: `(` is a delimiter, not a tchar; invalid request-line (RFC 9112 §3).",
    ),
    Case(
        name="method-nul",
        kind="method",
        raw=b"GE\x00T / HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §3.1: method is a token; NUL is not a tchar.",
    ),
    Case(
        name="method-leading-space",
        kind="method",
        raw=b" GET / HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §3: the request-line starts with the method token; empty method.",
    ),
    Case(
        name="method-prefix-garbage",
        kind="method",
        raw=b"Junk textGET / HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §3: four space-separated parts is not a request-line.",
    ),
    Case(
        name="connect-authority-form",
        kind="method",
        raw=b"CONNECT t:443 HTTP/1.1\r\nHost: t:443\r\n\r\n",
        status=501,
        why="RFC 9110 §9.3.6 / §15.6.2: CONNECT is not implemented by this origin server.",
    ),
    Case(
        name="connect-http10",
        kind="method",
        raw=b"CONNECT home_0.example:443 HTTP/1.0\r\nUser-Agent: x\r\n\r\n",
        status=501,
        why="RFC 9110 §9.3.6 / §15.6.2: CONNECT answered 501 whatever the version.",
    ),
    Case(
        name="connect-origin-form",
        kind="method",
        raw=b"CONNECT / HTTP/1.1\r\nHost: t\r\n\r\n",
        status=501,
        why="RFC 9110 §15.6.2: the method itself is not implemented, whatever its target.",
    ),
    # ------------------------------------------------------------------ request-line shape
    Case(
        name="request-line-double-sp-after-method",
        kind="request-line",
        raw=b"GET  / HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §3: exactly one SP between method and request-target.",
    ),
    Case(
        name="request-line-double-sp-before-version",
        kind="request-line",
        raw=b"GET /  HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §3: exactly one SP between request-target and version.",
    ),
    Case(
        name="request-line-trailing-sp",
        kind="request-line",
        raw=b"GET / HTTP/1.1 \r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §3: HTTP-version is followed directly by CRLF.",
    ),
    Case(
        name="request-line-htab-separator",
        kind="request-line",
        raw=b"GET\t/ HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §3: the separator is SP; the whitespace-word lenience is optional and "
        "not taken.",
    ),
    Case(
        name="request-line-space-in-target",
        kind="request-line",
        raw=b"GET /foo bar/ HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §3.2: no whitespace is allowed in the request-target.",
    ),
    Case(
        name="request-line-method-only",
        kind="request-line",
        raw=b"GET\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §3: request-target and HTTP-version are missing.",
    ),
    Case(
        name="request-line-empty-version",
        kind="request-line",
        raw=b"GET / \r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §3 / §2.3: an empty HTTP-version is not a version.",
    ),
    # ------------------------------------------------------------------ version
    Case(
        name="version-1-0",
        kind="version",
        raw=b"GET / HTTP/1.0\r\n\r\n",
        status=200,
        why="RFC 9112 §2.3: HTTP/1.0 is served; without keep-alive the connection closes "
        "(RFC 9112 §9.3).",
        keep_alive=False,
    ),
    Case(
        name="version-1-2",
        kind="version",
        raw=b"GET / HTTP/1.2\r\nHost: t\r\n\r\n",
        status=505,
        why="RFC 9110 §15.6.6: well-formed version this server does not serve (policy).",
    ),
    Case(
        name="version-2-0",
        kind="version",
        raw=b"GET / HTTP/2.0\r\nHost: t\r\n\r\n",
        status=505,
        why="RFC 9110 §15.6.6: major version not supported over HTTP/1.1 framing.",
    ),
    Case(
        name="version-0-9-spelled",
        kind="version",
        raw=b"GET / HTTP/0.9\r\nHost: t\r\n\r\n",
        status=505,
        why="RFC 9110 §15.6.6: well-formed but unsupported version.",
    ),
    Case(
        name="version-9-9",
        kind="version",
        raw=b"GET / HTTP/9.9\r\nHost: t\r\n\r\n",
        status=505,
        why="RFC 9110 §15.6.6: well-formed but unsupported version.",
    ),
    Case(
        name="version-lowercase",
        kind="version",
        raw=b"GET / http/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why='RFC 9112 §2.3: HTTP-name is case-sensitive %s"HTTP".',
    ),
    Case(
        name="version-three-parts",
        kind="version",
        raw=b"GET / HTTP/1.1.1\r\nHost: t\r\n\r\n",
        status=400,
        why='RFC 9112 §2.3: HTTP-version = HTTP-name "/" DIGIT "." DIGIT.',
    ),
    Case(
        name="version-no-dot",
        kind="version",
        raw=b"GET / HTTP/11\r\nHost: t\r\n\r\n",
        status=400,
        why='RFC 9112 §2.3: the version needs DIGIT "." DIGIT.',
    ),
    Case(
        name="version-major-only",
        kind="version",
        raw=b"GET / HTTP/1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §2.3: minor version missing.",
    ),
    Case(
        name="version-other-protocol-ice",
        kind="version",
        raw=b"GET /m ICE/1.0\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §2.3: only HTTP-name is a version; other protocol names are malformed.",
    ),
    Case(
        name="version-prefixed-name",
        kind="version",
        raw=b"GET / IHTTP/1.0\r\nHost: t\r\n\r\n",
        status=400,
        why='RFC 9112 §2.3: HTTP-name must be exactly "HTTP".',
    ),
    # ------------------------------------------------------------------ HTTP/0.9
    Case(
        name="http09-simple-request",
        kind="http09",
        raw=b"GET /\r\n\r\n",
        status=400,
        why="RFC 9112 §3 / §2.3: a request-line without HTTP-version (HTTP/0.9) is not served.",
    ),
    # ------------------------------------------------------------------ HTTP/1.0
    Case(
        name="http10-with-host",
        kind="http10",
        raw=b"GET /t HTTP/1.0\r\nHost: 0.0.0.0:5000\r\nAccept: */*\r\n\r\n",
        status=200,
        why="RFC 9112 §3.2: Host is optional in HTTP/1.0 but valid here; connection closes "
        "after the response (RFC 9112 §9.3).",
        keep_alive=False,
    ),
    Case(
        name="http10-content-length-body",
        kind="http10",
        raw=b"GET /f HTTP/1.0\r\ncontent-LENGTH: 5\r\n\r\nHELLO",
        status=200,
        why="RFC 9112 §6.2: Content-Length frames an HTTP/1.0 body too; names case-insensitive.",
        body=b"HELLO",
        keep_alive=False,
    ),
    Case(
        name="http10-keep-alive-not-honoured",
        kind="http10",
        raw=b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        status=200,
        why="RFC 9112 §9.3: honouring HTTP/1.0 keep-alive is optional; policy closes.",
        keep_alive=False,
    ),
    Case(
        name="http10-extension-method",
        kind="http10",
        raw=b"ANNOUNCE /m HTTP/1.0\r\nHost: t\r\n\r\n",
        status=200,
        why="RFC 9110 §9.1: any token method; HTTP/1.0 closes after the response.",
        keep_alive=False,
    ),
    Case(
        name="http10-transfer-encoding",
        kind="http10",
        raw=b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        status=400,
        why="RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.",
    ),
    Case(
        name="http10-transfer-encoding-gzip",
        kind="http10",
        raw=b"POST / HTTP/1.0\r\nTransfer-Encoding: gzip\r\n\r\n",
        status=400,
        why="RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing, whatever coding.",
    ),
    Case(
        name="http10-two-hosts",
        kind="http10",
        raw=b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
        status=400,
        why="RFC 9112 §3.2: more than one Host field line is 400 for any request.",
    ),
    Case(
        name="http10-invalid-host",
        kind="http10",
        raw=b"GET / HTTP/1.0\r\nHost: a b\r\n\r\n",
        status=400,
        why="RFC 9112 §3.2: a Host with an invalid value is 400 for any request.",
    ),
    # ------------------------------------------------------------------ request-target
    Case(
        name="target-origin-query",
        kind="target",
        raw=b"GET /t.cgi?foo=bar?baz HTTP/1.1\r\nHost: t\r\n\r\n",
        status=200,
        why="RFC 9112 §3.2.1 / RFC 3986 §3.4: `?` is allowed inside the query.",
    ),
    Case(
        name="target-origin-quotes-and-bar",
        kind="target",
        raw=b'GET /with_"q"?a=|&b="c" HTTP/1.1\r\nHost: t\r\n\r\n',
        status=200,
        why="Policy: any visible byte 0x21-0x7E except `#` is accepted in the target "
        "(RFC 9112 §3.2; lenient on RFC 3986 characters).",
    ),
    Case(
        name="target-absolute-form",
        kind="target",
        raw=b"GET http://t/p?q=1 HTTP/1.1\r\nHost: t\r\n\r\n",
        status=200,
        why="RFC 9112 §3.2.2: servers MUST accept absolute-form.",
    ),
    Case(
        name="target-absolute-form-https",
        kind="target",
        raw=b"GET https://t:8443/p HTTP/1.1\r\nHost: t:8443\r\n\r\n",
        status=200,
        why="RFC 9112 §3.2.2 / RFC 9110 §4.2.2: https absolute-form.",
    ),
    Case(
        name="target-absolute-form-no-path-query",
        kind="target",
        raw=b"GET http://hypno.test?hail=all HTTP/1.1\r\nHost: hypno.test\r\n\r\n",
        status=200,
        why="RFC 3986 §3 / RFC 9112 §3.2.2: authority ended by a query, empty path.",
    ),
    Case(
        name="target-absolute-form-host-differs",
        kind="target",
        raw=b"GET http://a.test/ HTTP/1.1\r\nHost: b.test\r\n\r\n",
        status=200,
        why="RFC 9112 §3.2.2: the target's authority wins; Host is still present and valid.",
    ),
    Case(
        name="target-absolute-form-without-host",
        kind="target",
        raw=b"GET http://a.test/ HTTP/1.1\r\n\r\n",
        status=400,
        why="RFC 9112 §3.2: an HTTP/1.1 request lacking Host is 400 even in absolute-form.",
    ),
    Case(
        name="target-absolute-form-ftp",
        kind="target",
        raw=b"GET ftp://t/f HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="Policy: only http and https absolute-form targets (RFC 9110 §4.2).",
    ),
    Case(
        name="target-asterisk-options",
        kind="target",
        raw=b"OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n",
        status=200,
        why="RFC 9112 §3.2.4: asterisk-form is for server-wide OPTIONS.",
    ),
    Case(
        name="target-asterisk-get",
        kind="target",
        raw=b"GET * HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §3.2.4: asterisk-form is only used for OPTIONS.",
    ),
    Case(
        name="target-asterisk-pri",
        kind="target",
        raw=b"PRI * HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §3.2.4: asterisk-form only with OPTIONS.",
    ),
    Case(
        name="target-authority-form-get",
        kind="target",
        raw=b"GET t:443 HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §3.2.3: authority-form is only for CONNECT; as a URI its scheme is not "
        "http(s).",
    ),
    Case(
        name="target-relative-path",
        kind="target",
        raw=b"GET index.html HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §3.2: none of the four request-target forms.",
    ),
    Case(
        name="target-empty",
        kind="target",
        raw=b"GET  HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §3.2: the request-target cannot be empty.",
    ),
    Case(
        name="target-fragment",
        kind="target",
        raw=b"GET /f/1?page=1#posts-17 HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §3.2 / RFC 9110 §4.2.5: a fragment is never part of a request-target.",
    ),
    Case(
        name="target-fragment-absolute",
        kind="target",
        raw=b"GET http://t/#x HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §3.2.2: absolute-URI has no fragment.",
    ),
    Case(
        name="target-utf8",
        kind="target",
        raw=b"GET /\xce\xb4\xc2\xb6/x HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §3.2 / RFC 3986 §2: non-ASCII must be percent-encoded.",
    ),
    Case(
        name="target-nul",
        kind="target",
        raw=b"GET /a\x00b HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §3.2: control bytes are not allowed in the request-target.",
    ),
    Case(
        name="target-del",
        kind="target",
        raw=b"GET /a\x7fb HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §3.2: DEL is not allowed in the request-target.",
    ),
    Case(
        name="target-htab",
        kind="target",
        raw=b"GET /a\tb HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §3.2: no whitespace is allowed in the request-target.",
    ),
    Case(
        name="target-obs-byte",
        kind="target",
        raw=b"GET /a\xffb HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §3.2: bytes >= 0x80 are not allowed in the request-target.",
    ),
    # ------------------------------------------------------------------ leading empty lines
    Case(
        name="leading-crlf",
        kind="leading-empty-line",
        raw=b"\r\nGET /t HTTP/1.1\r\nHost: t\r\n\r\n",
        status=200,
        why="RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the "
        "request-line.",
    ),
    Case(
        name="leading-crlf-many",
        kind="leading-empty-line",
        raw=b"\r\n\r\n\r\n\r\nGET /t HTTP/1.1\r\nHost: t\r\n\r\n",
        status=200,
        why="RFC 9112 §2.2: empty lines before the request-line are ignored.",
    ),
    Case(
        name="crlf-after-body",
        kind="leading-empty-line",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nq=42\r\n",
        status=200,
        why="RFC 9112 §2.2: the CRLF some clients send after a body is an empty line before the "
        "next request-line, so the glued request is still answered.",
        body=b"q=42",
    ),
    Case(
        name="leading-bare-lf",
        kind="leading-empty-line",
        raw=b"\nGET / HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §2.2: the empty line is CRLF; bare LF is not accepted (policy).",
    ),
    Case(
        name="leading-bare-cr",
        kind="leading-empty-line",
        raw=b"\rGET / HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §2.2: a bare CR is invalid.",
    ),
    Case(
        name="leading-space-line",
        kind="leading-empty-line",
        raw=b" \r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §2.2: only empty lines are skipped; a line holding SP is no request-line.",
    ),
    # ------------------------------------------------------------------ bare LF
    Case(
        name="bare-lf-everywhere",
        kind="bare-lf",
        raw=b"GET / HTTP/1.1\nHost: t\nX: y\n\n",
        status=400,
        why="RFC 9112 §2.2: lines end in CRLF; accepting a lone LF is optional and not taken.",
    ),
    Case(
        name="bare-lf-everywhere-chunked",
        kind="bare-lf",
        raw=(
            b"POST / HTTP/1.1\nHost: t\nTransfer-Encoding: chunked\n\n1\nA\n1;x=y\nB\n0\n\nT: v\n\n"
        ),
        status=400,
        why="RFC 9112 §2.2 / §7.1: LF-only head and chunk lines are refused.",
    ),
    Case(
        name="bare-lf-request-line",
        kind="bare-lf",
        raw=b"GET / HTTP/1.1\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §3: request-line ends in CRLF.",
    ),
    Case(
        name="bare-lf-between-fields",
        kind="bare-lf",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nX: x\nTransfer-Encoding: chunked\r\n\r\n"
            b"1\r\nA\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §5 / §11.2: a lone LF between fields would hide a field from other parsers.",
    ),
    Case(
        name="bare-lf-after-empty-value",
        kind="bare-lf",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nX:\nTransfer-Encoding: chunked\r\n\r\n"
            b"1\r\nA\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §2.2 / RFC 9110 §5.5: LF in a field line is invalid.",
    ),
    Case(
        name="bare-lf-hides-content-length",
        kind="bare-lf",
        raw=(
            b"GET / HTTP/1.1\r\nHost: t\r\nDummy: x\nContent-Length: 23\r\n\r\n"
            b"GET / HTTP/1.1\r\nX: GET /admin HTTP/1.1\r\nHost: t\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §2.2 / §11.2: LF-only line ends let Content-Length be seen by one parser "
        "and not by another.",
    ),
    Case(
        name="bare-lf-final-empty-line",
        kind="bare-lf",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\n\n",
        status=400,
        why="RFC 9112 §2.1: the header section ends with CRLF CRLF.",
    ),
    # ------------------------------------------------------------------ bare CR
    Case(
        name="bare-cr-request-line",
        kind="bare-cr",
        raw=b"GET / HTTP/1.1\rLine: 1\r\nHost: t\r\n\r\n",
        status=400,
        why="RFC 9112 §2.2: a bare CR MUST be treated as invalid (or replaced; policy rejects).",
    ),
    Case(
        name="bare-cr-between-fields",
        kind="bare-cr",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nFoo: 1\rBar: 2\r\n\r\n",
        status=400,
        why="RFC 9112 §2.2 / RFC 9110 §5.5: CR inside a field line is invalid.",
    ),
    Case(
        name="bare-cr-after-empty-value",
        kind="bare-cr",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nConnection: close\r\nX:\rTransfer-Encoding: chunked\r\n"
            b"\r\n1\r\nA\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §2.2: bare CR, here hiding a Transfer-Encoding field.",
    ),
    Case(
        name="bare-cr-in-value",
        kind="bare-cr",
        raw=b"PUT /u HTTP/1.1\r\nHost: t\r\nConnection: keep\ralive\r\n\r\n",
        status=400,
        why="RFC 9110 §5.5: CR in a field value is invalid.",
    ),
    Case(
        name="bare-cr-in-name",
        kind="bare-cr",
        raw=b"PUT /u HTTP/1.1\r\nHost: t\r\nContent\rLength: 3\r\n\r\nabc",
        status=400,
        why="RFC 9112 §2.2 / RFC 9110 §5.1: CR is neither a tchar nor a line end here.",
    ),
    Case(
        name="bare-cr-corrupt-name",
        kind="bare-cr",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nConnection\r\x1b5\xd5eep-Alive\r\nAccept: x\r\n\r\n",
        status=400,
        why="RFC 9112 §2.2: bare CR followed by control and obs bytes in a name.",
    ),
    Case(
        name="bare-cr-blank-line-smuggle",
        kind="bare-cr",
        raw=(
            b"GET / HTTP/1.1\r\nConnection: close\r\nHost: a\r\n\rZGET /evil: HTTP/1.1\r\n"
            b"Host: a\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §2.2: `\\r` then a non-LF where the empty line should be is a bare CR.",
    ),
    Case(
        name="bare-cr-blank-line-field",
        kind="bare-cr",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\n\rSome-Header: x\r\n\r\n",
        status=400,
        why="RFC 9112 §2.2: bare CR where the empty line should be.",
    ),
    Case(
        name="bare-cr-before-body",
        kind="bare-cr",
        raw=b"PUT /u HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\rabc",
        status=400,
        why="RFC 9112 §2.1: the header section must end in CRLF CRLF, not CRLF CR.",
    ),
    # ------------------------------------------------------------------ obs-fold
    Case(
        name="obs-fold-crlf",
        kind="obs-fold",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nX: abc\r\n def\r\n\r\n",
        status=400,
        why="RFC 9112 §5.2: obs-fold in a request is rejected with 400 (policy picks rejection).",
    ),
    Case(
        name="obs-fold-crlf-htab",
        kind="obs-fold",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nX: abc\r\n\tdef\r\n\r\n",
        status=400,
        why="RFC 9112 §5.2: a line starting with HTAB is obs-fold.",
    ),
    Case(
        name="obs-fold-lf",
        kind="obs-fold",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nX: abc\n def\n\r\n",
        status=400,
        why="RFC 9112 §5.2 / §2.2: obs-fold with LF-only endings.",
    ),
    Case(
        name="obs-fold-lf-everywhere",
        kind="obs-fold",
        raw=b"GET / HTTP/1.1\nHost: t\nLine1: abc\n\tdef\n ghi\nConnection:\n close\n\n",
        status=400,
        why="RFC 9112 §5.2 / §2.2: obs-fold and LF-only endings.",
    ),
    Case(
        name="obs-fold-first-line",
        kind="obs-fold",
        raw=b"GET / HTTP/1.1\r\n Host: t\r\n\r\n",
        status=400,
        why="RFC 9112 §2.2: whitespace between the start-line and the first field line.",
    ),
    Case(
        name="obs-fold-hides-content-length",
        kind="obs-fold",
        raw=(
            b"POST /h HTTP/1.1\r\nHost: t\r\nFoo: bar\r\n Content-Length: 38\r\n\r\n"
            b"GET /bye HTTP/1.1\r\nHost: t\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §5.2 / §11.2: a folded line that reads like Content-Length.",
    ),
    Case(
        name="obs-fold-connection-close",
        kind="obs-fold",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nConnection:\r\n close\r\n\r\n",
        status=400,
        why="RFC 9112 §5.2: folded value of an empty first line.",
    ),
    Case(
        name="obs-fold-after-transfer-encoding",
        kind="obs-fold",
        raw=(
            b"PUT /u HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n  abc\r\n\r\n"
            b"5\r\nWorld\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §5.2: obs-fold continuing Transfer-Encoding.",
    ),
    Case(
        name="obs-fold-name-continuation",
        kind="obs-fold",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nname\r\n : value\r\n\r\n",
        status=400,
        why="RFC 9112 §5.1: `name` has no colon; the next line is obs-fold.",
    ),
    # ------------------------------------------------------------------ field name
    Case(
        name="field-name-tchars",
        kind="field-name",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nX!#$%&'*+-.^_`|~Y: z\r\n\r\n",
        status=200,
        why="RFC 9110 §5.1 / §5.6.2: a field name is any token.",
    ),
    Case(
        name="field-name-underscore-te",
        kind="field-name",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer_Encoding: chunked\r\n"
            b"Content-Length: 11\r\n\r\n1\r\nZ\r\n0\r\n\r\n"
        ),
        status=200,
        why="RFC 9110 §5.1: `Transfer_Encoding` is a different, valid field name; framing is "
        "by Content-Length, so the chunked bytes are the body.",
        body=b"1\r\nZ\r\n0\r\n\r\n",
    ),
    Case(
        name="field-name-space-before-colon",
        kind="field-name",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nFoo : bar\r\n\r\n",
        status=400,
        why="RFC 9112 §5.1: a server MUST reject whitespace between field name and colon.",
    ),
    Case(
        name="field-name-space-before-colon-cl",
        kind="field-name",
        raw=b"PUT /u HTTP/1.1\r\nHost: t\r\nContent-Length : 4\r\n\r\nabcd",
        status=400,
        why="RFC 9112 §5.1: `Content-Length :` must be rejected, never read as Content-Length.",
    ),
    Case(
        name="field-name-empty",
        kind="field-name",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\n: Bar\r\n\r\n",
        status=400,
        why="RFC 9110 §5.1: field-name = token, at least one tchar.",
    ),
    Case(
        name="field-name-no-colon",
        kind="field-name",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nNoColonHere\r\n\r\n",
        status=400,
        why='RFC 9112 §5: field-line = field-name ":" OWS field-value OWS.',
    ),
    Case(
        name="field-name-brackets",
        kind="field-name",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nX-Invalid[]: test\r\n\r\n",
        status=400,
        why="RFC 9110 §5.6.2: `[` and `]` are delimiters, not tchars.",
    ),
    Case(
        name="field-name-at-sign",
        kind="field-name",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nFo@: Failure\r\n\r\n",
        status=400,
        why="RFC 9110 §5.6.2: `@` is not a tchar.",
    ),
    Case(
        name="field-name-control-byte",
        kind="field-name",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nFoo\x01\test: Bar\r\n\r\n",
        status=400,
        why="RFC 9110 §5.1: control bytes are not tchars.",
    ),
    Case(
        name="field-name-inner-space",
        kind="field-name",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nX Y: z\r\n\r\n",
        status=400,
        why="RFC 9110 §5.1: SP is not a tchar.",
    ),
    Case(
        name="field-name-obs-byte",
        kind="field-name",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nX\xe9: z\r\n\r\n",
        status=400,
        why="RFC 9110 §5.1: obs-text is allowed in values only, never in names.",
    ),
    # ------------------------------------------------------------------ field value
    Case(
        name="field-value-obs-text-latin1",
        kind="field-value",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nX: \xffValue2\r\n\r\n",
        status=200,
        why="RFC 9110 §5.5: obs-text (0x80-0xFF) is allowed in field values.",
    ),
    Case(
        name="field-value-obs-text-utf8",
        kind="field-value",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nCity: D\xc3\xbcsseldorf\r\n\r\n",
        status=200,
        why="RFC 9110 §5.5: UTF-8 bytes are obs-text in a field value.",
    ),
    Case(
        name="field-value-inner-whitespace",
        kind="field-value",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nX: a \t b\t\tc\r\n\r\n",
        status=200,
        why="RFC 9110 §5.5: SP and HTAB inside a value are allowed.",
    ),
    Case(
        name="field-value-empty-with-space",
        kind="field-value",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nX-Empty: \r\n\r\n",
        status=200,
        why="RFC 9110 §5.5: an empty value (after trimming OWS) is allowed.",
    ),
    Case(
        name="field-value-nul",
        kind="field-value",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nX: a\x00b\r\n\r\n",
        status=400,
        why="RFC 9110 §5.5: NUL in a field value MUST be rejected or replaced; policy rejects.",
    ),
    Case(
        name="field-value-soh",
        kind="field-value",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nX: a\x01b\r\n\r\n",
        status=400,
        why="RFC 9110 §5.5: CTLs other than HTAB are outside field-value.",
    ),
    Case(
        name="field-value-bel",
        kind="field-value",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nX-Bad: test\x07\r\n\r\n",
        status=400,
        why="RFC 9110 §5.5: BEL is outside field-value.",
    ),
    Case(
        name="field-value-vt",
        kind="field-value",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nX: a\x0bb\r\n\r\n",
        status=400,
        why="RFC 9110 §5.5: VT is outside field-value.",
    ),
    Case(
        name="field-value-form-feed",
        kind="field-value",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nX: hello\x0cworld\r\n\r\n",
        status=400,
        why="RFC 9110 §5.5: FF is outside field-value.",
    ),
    Case(
        name="field-value-del",
        kind="field-value",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nX: a\x7fb\r\n\r\n",
        status=400,
        why="RFC 9110 §5.5: DEL is not a VCHAR.",
    ),
    # ------------------------------------------------------------------ head size
    Case(
        name="head-exactly-at-limit",
        kind="head-size",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nX: " + b"a" * (MAX_HEAD - 32) + b"\r\n\r\n",
        status=200,
        why="Policy: a head of exactly 16384 bytes is within the limit.",
    ),
    Case(
        name="head-one-over-limit",
        kind="head-size",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nX: " + b"a" * (MAX_HEAD - 31) + b"\r\n\r\n",
        status=431,
        why="RFC 6585 §5: 431 for a header section over the 16384-byte limit.",
    ),
    Case(
        name="head-at-limit-with-leading-lines",
        kind="head-size",
        raw=(
            b"\r\n" * 100
            + b"GET / HTTP/1.1\r\nHost: t\r\nX: "
            + b"a" * (MAX_HEAD - 232)
            + b"\r\n\r\n"
        ),
        status=200,
        why="Policy: ignored leading empty lines count toward the head; exactly 16384 bytes.",
    ),
    Case(
        name="head-over-limit-by-leading-lines",
        kind="head-size",
        raw=(
            b"\r\n" * 100
            + b"GET / HTTP/1.1\r\nHost: t\r\nX: "
            + b"a" * (MAX_HEAD - 231)
            + b"\r\n\r\n"
        ),
        status=431,
        why="RFC 6585 §5 / policy: leading empty lines count, pushing the head to 16385 bytes.",
    ),
    Case(
        name="head-only-leading-lines",
        kind="head-size",
        raw=b"\r\n" * 8200 + b"GET / HTTP/1.1\r\nHost: t\r\n\r\n",
        status=431,
        why="RFC 9112 §2.2 / policy: an endless run of empty lines is bounded by the head limit.",
    ),
    Case(
        name="head-long-target",
        kind="head-size",
        raw=b"GET /" + b"a" * 16400 + b" HTTP/1.1\r\nHost: t\r\n\r\n",
        status=431,
        why="RFC 6585 §5 / policy: the request-line counts toward the head limit.",
    ),
    Case(
        name="head-long-field-name",
        kind="head-size",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\n" + b"X" * 16400 + b": y\r\n\r\n",
        status=431,
        why="RFC 6585 §5: one oversized field line.",
    ),
    Case(
        name="head-whitespace-padding-inside-value",
        kind="head-size",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nX: a" + b" " * 16400 + b"b\r\n\r\n",
        status=431,
        why="RFC 6585 §5: inner whitespace counts as bytes of the head.",
    ),
    Case(
        name="head-whitespace-padding-trailing-ows",
        kind="head-size",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nX: a" + b"\t" * 16400 + b"\r\n\r\n",
        status=431,
        why="RFC 6585 §5: trimmed OWS still counts as received head bytes.",
    ),
    Case(
        name="head-many-fields",
        kind="head-size",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\n" + b"X: y\r\n" * 2800 + b"\r\n",
        status=431,
        why="RFC 6585 §5: many small field lines add up over the limit.",
    ),
    # ------------------------------------------------------------------ Host
    Case(
        name="host-missing",
        kind="host",
        raw=b"GET / HTTP/1.1\r\n\r\n",
        status=400,
        why="RFC 9112 §3.2: an HTTP/1.1 request lacking Host MUST get 400.",
    ),
    Case(
        name="host-duplicate-different",
        kind="host",
        raw=b"GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n",
        status=400,
        why="RFC 9112 §3.2: more than one Host field line MUST get 400.",
    ),
    Case(
        name="host-duplicate-same",
        kind="host",
        raw=b"GET / HTTP/1.1\r\nHost: a.test\r\nhost: a.test\r\n\r\n",
        status=400,
        why="RFC 9112 §3.2: two Host lines are 400 even when equal.",
    ),
    Case(
        name="host-empty",
        kind="host",
        raw=b"GET / HTTP/1.1\r\nHost:\r\n\r\n",
        status=200,
        why="RFC 9110 §7.2: Host may be empty when the target URI has no authority (policy).",
    ),
    Case(
        name="host-uppercase-name-ows",
        kind="host",
        raw=b"GET / HTTP/1.1\r\nHOST: \t t.test \t\r\n\r\n",
        status=200,
        why="RFC 9110 §5.1 / RFC 9112 §5.1: name case-insensitive, OWS trimmed.",
    ),
    Case(
        name="host-ipv6",
        kind="host",
        raw=b"GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n",
        status=200,
        why="RFC 3986 §3.2.2: IP-literal in brackets.",
    ),
    Case(
        name="host-ipv6-port",
        kind="host",
        raw=b"GET / HTTP/1.1\r\nHost: [2001:db8::7]:8080\r\n\r\n",
        status=200,
        why="RFC 3986 §3.2.2 / §3.2.3: bracketed IPv6 with a port.",
    ),
    Case(
        name="host-reg-name-unreserved",
        kind="host",
        raw=b"GET / HTTP/1.1\r\nHost: my_host-1.ex~ample\r\n\r\n",
        status=200,
        why="RFC 3986 §3.2.2: reg-name allows unreserved `-._~`.",
    ),
    Case(
        name="host-reg-name-pct-encoded",
        kind="host",
        raw=b"GET / HTTP/1.1\r\nHost: ex%41mple.test\r\n\r\n",
        status=200,
        why="RFC 3986 §3.2.2: reg-name allows pct-encoded.",
    ),
    Case(
        name="host-reg-name-sub-delims",
        kind="host",
        raw=b"GET / HTTP/1.1\r\nHost: 0.0.0.0=5000\r\n\r\n",
        status=200,
        why="RFC 3986 §3.2.2: `=` is a sub-delim, so this is a (strange) valid reg-name.",
    ),
    Case(
        name="host-reg-name-comma",
        kind="host",
        raw=b"GET / HTTP/1.1\r\nHost: a,b\r\n\r\n",
        status=200,
        why="RFC 3986 §3.2.2: `,` is a sub-delim; without spaces this is a valid reg-name.",
    ),
    Case(
        name="host-space-slash-at",
        kind="host",
        raw=b"GET / HTTP/1.1\r\nHost: a b/c@d\r\n\r\n",
        status=400,
        why="RFC 9112 §3.2: invalid Host value MUST get 400 (RFC 3986 §3.2.2).",
    ),
    Case(
        name="host-list",
        kind="host",
        raw=b"GET / HTTP/1.1\r\nHost: a, b\r\n\r\n",
        status=400,
        why="RFC 9110 §7.2: Host is a single uri-host; SP is not a reg-name character.",
    ),
    Case(
        name="host-two-ports",
        kind="host",
        raw=b"GET / HTTP/1.1\r\nHost: t:80:80\r\n\r\n",
        status=400,
        why="RFC 3986 §3.2.2 / §3.2.3: `:` is not a reg-name character; one port at most.",
    ),
    Case(
        name="host-userinfo",
        kind="host",
        raw=b"GET / HTTP/1.1\r\nHost: u@t\r\n\r\n",
        status=400,
        why='RFC 9110 §7.2: Host = uri-host [":" port]; userinfo is not allowed.',
    ),
    Case(
        name="host-path",
        kind="host",
        raw=b"GET / HTTP/1.1\r\nHost: t/x\r\n\r\n",
        status=400,
        why="RFC 3986 §3.2.2: `/` ends an authority; not part of Host.",
    ),
    Case(
        name="host-hash",
        kind="host",
        raw=b"GET / HTTP/1.1\r\nHost: t#x\r\n\r\n",
        status=400,
        why="RFC 3986 §3.2.2: `#` is not a reg-name character.",
    ),
    Case(
        name="host-non-digit-port",
        kind="host",
        raw=b"GET / HTTP/1.1\r\nHost: t:8o\r\n\r\n",
        status=400,
        why="RFC 3986 §3.2.3: port = *DIGIT.",
    ),
    Case(
        name="host-ipv6-unclosed",
        kind="host",
        raw=b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n",
        status=400,
        why="RFC 3986 §3.2.2: IP-literal needs the closing bracket.",
    ),
    Case(
        name="host-ipv6-unbracketed",
        kind="host",
        raw=b"GET / HTTP/1.1\r\nHost: ::1\r\n\r\n",
        status=400,
        why="RFC 3986 §3.2.2: IPv6 must be bracketed; `:` is not a reg-name character.",
    ),
    Case(
        name="host-ipv6-not-an-address",
        kind="host",
        raw=b"GET / HTTP/1.1\r\nHost: [hello]\r\n\r\n",
        status=400,
        why="RFC 3986 §3.2.2: brackets hold an IPv6address.",
    ),
    Case(
        name="host-ipv6-two-double-colons",
        kind="host",
        raw=b"GET / HTTP/1.1\r\nHost: [1::2::3]\r\n\r\n",
        status=400,
        why="RFC 3986 §3.2.2 / RFC 4291 §2.2: `::` may appear once.",
    ),
    Case(
        name="host-bad-pct-encoding",
        kind="host",
        raw=b"GET / HTTP/1.1\r\nHost: ex%zzample\r\n\r\n",
        status=400,
        why='RFC 3986 §2.1: pct-encoded = "%" HEXDIG HEXDIG.',
    ),
    Case(
        name="host-obs-text",
        kind="host",
        raw=b"GET / HTTP/1.1\r\nHost: b\xc3\xbccher.test\r\n\r\n",
        status=400,
        why="RFC 3986 §3.2.2: a valid field value but not a uri-host (IDNs go as A-labels).",
    ),
    # ------------------------------------------------------------------ Content-Length
    Case(
        name="cl-leading-zeros",
        kind="content-length",
        raw=b"PUT /u HTTP/1.1\r\nHost: t\r\nContent-Length: 003\r\nOhai: world\r\n\r\nabc",
        status=200,
        why="RFC 9110 §8.6: Content-Length = 1*DIGIT; leading zeros are digits.",
        body=b"abc",
    ),
    Case(
        name="cl-surrounding-spaces",
        kind="content-length",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length:  5 \r\n\r\nhello",
        status=200,
        why="RFC 9112 §5.1: OWS around a field value is not part of it.",
        body=b"hello",
    ),
    Case(
        name="cl-surrounding-tabs",
        kind="content-length",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length:\t5\t  \r\n\r\nhello",
        status=200,
        why="RFC 9112 §5.1: OWS includes HTAB.",
        body=b"hello",
    ),
    Case(
        name="cl-two-lines-same",
        kind="content-length",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        status=400,
        why="RFC 9112 §6.3 rule 5 / RFC 9110 §8.6: policy rejects any repeated Content-Length.",
    ),
    Case(
        name="cl-two-lines-different",
        kind="content-length",
        raw=b"PUT /u HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        status=400,
        why="RFC 9112 §6.3 rule 5: conflicting Content-Length is unrecoverable framing.",
    ),
    Case(
        name="cl-list-same",
        kind="content-length",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5, 5\r\n\r\nhello",
        status=400,
        why="RFC 9110 §8.6: a list value is not 1*DIGIT; policy rejects.",
    ),
    Case(
        name="cl-plus-sign",
        kind="content-length",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +5\r\n\r\nhello",
        status=400,
        why="RFC 9110 §8.6: 1*DIGIT has no sign.",
    ),
    Case(
        name="cl-negative",
        kind="content-length",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n",
        status=400,
        why="RFC 9110 §8.6: 1*DIGIT has no sign.",
    ),
    Case(
        name="cl-negative-overflow",
        kind="content-length",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -123456789123456789123456789\r\n\r\n",
        status=400,
        why="RFC 9110 §8.6: not 1*DIGIT, whatever its magnitude.",
    ),
    Case(
        name="cl-hex",
        kind="content-length",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0x5\r\n\r\nhello",
        status=400,
        why="RFC 9110 §8.6: decimal digits only.",
    ),
    Case(
        name="cl-empty",
        kind="content-length",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length:\r\n\r\n",
        status=400,
        why="RFC 9110 §8.6: 1*DIGIT needs at least one digit.",
    ),
    Case(
        name="cl-letters",
        kind="content-length",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n",
        status=400,
        why="RFC 9110 §8.6: not 1*DIGIT.",
    ),
    Case(
        name="cl-inner-space",
        kind="content-length",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4 2\r\n\r\n",
        status=400,
        why="RFC 9110 §8.6: SP inside the number.",
    ),
    Case(
        name="cl-underscore",
        kind="content-length",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1_0\r\n\r\n0123456789",
        status=400,
        why="RFC 9110 §8.6: `_` is not a DIGIT (some integer parsers accept it).",
    ),
    Case(
        name="cl-non-ascii-digit",
        kind="content-length",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: \xd9\xa5\r\n\r\nhello",
        status=400,
        why="RFC 5234 B.1: DIGIT is ASCII 0-9 only (U+0665 is not).",
    ),
    Case(
        name="cl-too-large",
        kind="content-length",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1048577\r\n\r\n",
        status=413,
        why="RFC 9110 §15.5.14: content larger than the 1048576-byte limit.",
    ),
    Case(
        name="cl-overflow-digits",
        kind="content-length",
        raw=b"PUT /u HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000000000000000000\r\n\r\n",
        status=400,
        why="More digits than h11 takes for any length (20): refused as malformed (400), "
        "never wrapped.",
    ),
    Case(
        name="cl-at-limit",
        kind="content-length",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n" + _MIB,
        status=200,
        why="Policy: a body of exactly the 1048576-byte limit is accepted.",
        body=_MIB,
    ),
    # -------------------------------------------------------- Content-Length + Transfer-Encoding
    Case(
        name="cl-te-chunked",
        kind="cl-te",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"1\r\nZ\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §6.1 / §6.3 rule 3 / §11.2: both framings present; policy rejects.",
    ),
    Case(
        name="te-cl-chunked",
        kind="cl-te",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n"
            b"0\r\n\r\nX"
        ),
        status=400,
        why="RFC 9112 §6.1 / §6.3 rule 3: both framings, Transfer-Encoding first.",
    ),
    Case(
        name="cl-te-mixed-case",
        kind="cl-te",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\ncontent-LengtH: 5\r\nTransFer-Encoding: chunked\r\n"
            b"\r\nc\r\nHellO world1\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9110 §5.1: names are case-insensitive, so both framings are present.",
    ),
    Case(
        name="cl-te-identity",
        kind="cl-te",
        raw=(
            b"PUT /u HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n"
            b"Transfer-Encoding: identity\r\n\r\n"
            b""
        ),
        status=400,
        why="RFC 9112 §6.1: Content-Length with Transfer-Encoding is rejected whatever the coding.",
    ),
    Case(
        name="cl-te-empty-te-lines",
        kind="cl-te",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\nTransfer-Encoding:\r\n"
            b"Transfer-Encoding:\r\nTransfer-Encoding:\r\n\r\n2\r\nAA\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §6.1: an empty Transfer-Encoding line is still Transfer-Encoding.",
    ),
    Case(
        name="cl-te-http10",
        kind="cl-te",
        raw=(
            b"POST / HTTP/1.0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §6.1: HTTP/1.0 with Transfer-Encoding is faulty framing, CL or not.",
    ),
    Case(
        name="cl-te-unknown-coding",
        kind="cl-te",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: cow\r\nContent-Length: 3\r\n\r\nabc",
        status=400,
        why="Policy: Content-Length with any Transfer-Encoding is 400 (before the 501 check).",
    ),
    # ------------------------------------------------------------------ Transfer-Encoding values
    Case(
        name="te-chunked-uppercase",
        kind="te",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTRANSFER-ENCODING: CHUNKED\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        status=200,
        why="RFC 9112 §7: transfer-coding names are case-insensitive.",
        body=b"ok",
    ),
    Case(
        name="te-chunked-mixed-case",
        kind="te",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTrAnSFer-EnCODinG: cHuNkeD\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        status=200,
        why="RFC 9110 §5.1 / RFC 9112 §7: names and coding are case-insensitive.",
        body=b"ok",
    ),
    Case(
        name="te-chunked-ows",
        kind="te",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: \t chunked \t\r\n\r\n"
            b"2\r\nok\r\n0\r\n\r\n"
        ),
        status=200,
        why="RFC 9112 §5.1: OWS around the value is trimmed.",
        body=b"ok",
    ),
    Case(
        name="te-chunked-get-empty-body",
        kind="te",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        status=200,
        why="RFC 9112 §7.1: a chunked body of only the last-chunk is empty.",
    ),
    Case(
        name="te-chunked-twice-in-list",
        kind="te",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
        status=501,
        why="RFC 9112 §6.1: chunked MUST NOT be applied twice; policy: only the single value.",
    ),
    Case(
        name="te-identity",
        kind="te",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: identity\r\n\r\n",
        status=400,
        why="RFC 9112 §6.3: chunked is not the final transfer coding of the request, so the body "
        "has no knowable end: 400 (not 501).",
    ),
    Case(
        name="te-deflate-chunked",
        kind="te",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: deflate, chunked\r\n\r\n"
            b"5\r\nWorld\r\n0\r\n\r\n"
        ),
        status=501,
        why="RFC 9112 §6.1: deflate is not implemented.",
    ),
    Case(
        name="te-chunked-then-deflate",
        kind="te",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, deflate\r\n\r\nWorld",
        status=400,
        why="RFC 9112 §6.3: chunked is not the final transfer coding of the request, so the body "
        "has no knowable end: 400 (not 501).",
    ),
    Case(
        name="te-chunked-with-parameter",
        kind="te",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked;x=1\r\n\r\n0\r\n\r\n",
        status=501,
        why="RFC 9112 §7: chunked takes no parameters; policy: only the bare value.",
    ),
    Case(
        name="te-trailing-comma",
        kind="te",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n",
        status=501,
        why="Policy: only the single value `chunked`, no list syntax (RFC 9112 §6.1).",
    ),
    Case(
        name="te-prefixed",
        kind="te",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
        status=400,
        why="RFC 9112 §6.3: chunked is not the final transfer coding of the request, so the body "
        "has no knowable end: 400 (not 501).",
    ),
    Case(
        name="te-truncated",
        kind="te",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunk\r\n\r\n0\r\n\r\n",
        status=400,
        why="RFC 9112 §6.3: chunked is not the final transfer coding of the request, so the body "
        "has no knowable end: 400 (not 501).",
    ),
    Case(
        name="te-unknown-coding",
        kind="te",
        raw=b"PUT /u HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: pigeons\r\n\r\n",
        status=400,
        why="RFC 9112 §6.3: chunked is not the final transfer coding of the request, so the body "
        "has no knowable end: 400 (not 501).",
    ),
    Case(
        name="te-empty",
        kind="te",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\r\n\r\n",
        status=400,
        why="RFC 9112 §6.3: chunked is not the final transfer coding of the request, so the body "
        "has no knowable end: 400 (not 501).",
    ),
    Case(
        name="te-two-lines-chunked",
        kind="te",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        ),
        status=501,
        why="RFC 9110 §5.3: two lines combine to `chunked, chunked`; policy 501.",
    ),
    Case(
        name="te-two-lines-deflate-first",
        kind="te",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: deflate\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n5\r\nWorld\r\n0\r\n\r\n"
        ),
        status=501,
        why="RFC 9110 §5.3: combined value `deflate, chunked`; deflate not implemented.",
    ),
    Case(
        name="te-vertical-tab-prefix",
        kind="te",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n",
        status=400,
        why="RFC 9110 §5.5: VT is a control byte, a field-value error before any TE check.",
    ),
    # ---------------------------------------------------------- TE obfuscations (smuggler-style)
    Case(
        name="te-obf-double-quoted",
        kind="te-obfuscation",
        raw=b'POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "chunked"\r\n\r\n0\r\n\r\n',
        status=400,
        why='RFC 9112 §7: a transfer-coding is a token, `"chunked"` is not `chunked`.',
    ),
    Case(
        name="te-obf-words-around",
        kind="te-obfuscation",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: cow chunked bar\r\n\r\n0\r\n\r\n",
        status=400,
        why="RFC 9112 §6.3: chunked is not the final transfer coding of the request, so the body "
        "has no knowable end: 400 (not 501).",
    ),
    Case(
        name="te-obf-list-cow-before",
        kind="te-obfuscation",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: cow, chunked\r\n\r\n0\r\n\r\n",
        status=501,
        why="RFC 9112 §6.1: unknown coding in the list.",
    ),
    Case(
        name="te-obf-obs-text-prefix",
        kind="te-obfuscation",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\xffchunked\r\n\r\n0\r\n\r\n",
        status=400,
        why="RFC 9112 §6.3: chunked is not the final transfer coding of the request, so the body "
        "has no knowable end: 400 (not 501).",
    ),
    Case(
        name="te-obf-value-runs-on",
        kind="te-obfuscation",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked X: X\r\n\r\n0\r\n\r\n",
        status=400,
        why="RFC 9112 §6.3: chunked is not the final transfer coding of the request, so the body "
        "has no knowable end: 400 (not 501).",
    ),
    Case(
        name="te-obf-accented-name",
        kind="te-obfuscation",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransf\x82r-Encoding: chunked\r\n\r\n0\r\n\r\n",
        status=400,
        why="RFC 9110 §5.1: 0x82 is not a tchar.",
    ),
    Case(
        name="te-obf-name-space-join",
        kind="te-obfuscation",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer Encoding: chunked\r\n\r\n0\r\n\r\n",
        status=400,
        why="RFC 9110 §5.1: SP is not a tchar.",
    ),
    Case(
        name="te-obf-space-before-colon",
        kind="te-obfuscation",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
        status=400,
        why="RFC 9112 §5.1: whitespace between name and colon MUST be rejected.",
    ),
    Case(
        name="te-obf-tab-around-colon",
        kind="te-obfuscation",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding\t:\tchunked\r\n\r\n0\r\n\r\n",
        status=400,
        why="RFC 9112 §5.1: whitespace between name and colon.",
    ),
    Case(
        name="te-obf-obs-byte-before-colon",
        kind="te-obfuscation",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding\xff: chunked\r\n\r\n0\r\n\r\n",
        status=400,
        why="RFC 9110 §5.1: 0xFF is not a tchar.",
    ),
    Case(
        name="te-obf-lf-before-colon",
        kind="te-obfuscation",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding\n: chunked\r\n\r\n0\r\n\r\n",
        status=400,
        why="RFC 9112 §2.2: bare LF inside the field line.",
    ),
    Case(
        name="te-obf-space-prefix-first-line",
        kind="te-obfuscation",
        raw=b"POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: t\r\n\r\n0\r\n\r\n",
        status=400,
        why="RFC 9112 §2.2: whitespace-preceded line right after the request-line.",
    ),
    Case(
        name="te-obf-control-prefix-name",
        kind="te-obfuscation",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\n\x01Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        status=400,
        why="RFC 9110 §5.1: 0x01 is not a tchar.",
    ),
    Case(
        name="te-obf-cr-prefix-name",
        kind="te-obfuscation",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\n\rTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        status=400,
        why="RFC 9112 §2.2: bare CR.",
    ),
    Case(
        name="te-obf-cr-inside-name",
        kind="te-obfuscation",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer\r-Encoding: chunked\r\n\r\n0\r\n\r\n",
        status=400,
        why="RFC 9112 §2.2: bare CR.",
    ),
    Case(
        name="te-obf-soh-value-prefix",
        kind="te-obfuscation",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\x01chunked\r\n\r\n0\r\n\r\n",
        status=400,
        why="RFC 9110 §5.5: control byte in the value.",
    ),
    Case(
        name="te-obf-lf-fold",
        kind="te-obfuscation",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\n chunked\r\n\r\n0\r\n\r\n",
        status=400,
        why="RFC 9112 §2.2 / §5.2: bare LF plus obs-fold.",
    ),
    Case(
        name="te-obf-crlf-fold",
        kind="te-obfuscation",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
        status=400,
        why="RFC 9112 §5.2: obs-fold.",
    ),
    Case(
        name="te-obf-cr-suffix",
        kind="te-obfuscation",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\r\n\r\n0\r\n\r\n",
        status=400,
        why="RFC 9112 §2.2: bare CR before the line's CRLF.",
    ),
    Case(
        name="te-obf-vt-suffix",
        kind="te-obfuscation",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\x0b\r\n\r\n0\r\n\r\n",
        status=400,
        why="RFC 9110 §5.5: VT is not OWS; control byte in the value.",
    ),
    Case(
        name="te-obf-x-then-cr",
        kind="te-obfuscation",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nX:X\rTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        status=400,
        why="RFC 9112 §2.2: bare CR used as a line end.",
    ),
    Case(
        name="te-obf-x-then-lf",
        kind="te-obfuscation",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nX:X\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        status=400,
        why="RFC 9112 §2.2: bare LF used as a line end.",
    ),
    Case(
        name="te-obf-hidden-in-value-space",
        kind="te-obfuscation",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nX: X Transfer-Encoding: chunked\r\n"
            b"Content-Length: 5\r\n\r\n0\r\n\r\n"
        ),
        status=200,
        why="RFC 9110 §5.5: `X Transfer-Encoding: chunked` is just X's value; framing is "
        "Content-Length.",
        body=b"0\r\n\r\n",
    ),
    Case(
        name="te-obf-hidden-in-value-tab",
        kind="te-obfuscation",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nX: X\tTransfer-Encoding: chunked\r\n"
            b"Content-Length: 11\r\n\r\n1\r\nZ\r\n0\r\n\r\n"
        ),
        status=200,
        why="RFC 9110 §5.5: HTAB is allowed inside a value; no Transfer-Encoding field exists.",
        body=b"1\r\nZ\r\n0\r\n\r\n",
    ),
    Case(
        name="te-obf-content-encoding-chunked",
        kind="te-obfuscation",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Encoding: chunked\r\n"
            b"Content-Length: 11\r\n\r\n1\r\nZ\r\n0\r\n\r\n"
        ),
        status=200,
        why="RFC 9110 §8.4: Content-Encoding does not frame the message; Content-Length does.",
        body=b"1\r\nZ\r\n0\r\n\r\n",
    ),
    Case(
        name="te-obf-tab-value-with-cl",
        kind="te-obfuscation",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\tchunked\r\n"
            b"Content-Length: 5\r\n\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §6.1: a valid TE (HTAB is OWS) beside Content-Length.",
    ),
    Case(
        name="te-obf-crlf-split-with-cl",
        kind="te-obfuscation",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nX: X\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Length: 11\r\n\r\n1\r\nZ\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §6.1: a proper CRLF makes a real TE line, beside Content-Length.",
    ),
    Case(
        name="te-obf-nbsp-value-with-cl",
        kind="te-obfuscation",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\xa0chunked\r\n"
            b"Content-Length: 5\r\n\r\n0\r\n\r\n"
        ),
        status=400,
        why="Policy: Content-Length with any Transfer-Encoding field is 400.",
    ),
    Case(
        name="te-obf-underscore-with-real-te",
        kind="te-obfuscation",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer_Encoding: gzip\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
        ),
        status=200,
        why="RFC 9110 §5.1: `Transfer_Encoding` is a separate field and never merges with TE.",
        body=b"ok",
    ),
    # ------------------------------------------------------------------ chunk size
    Case(
        name="chunk-size-lowercase-hex",
        kind="chunk-size",
        raw=(
            b"PUT /u HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"a\r\n0123456789\r\n0\r\n\r\n"
        ),
        status=200,
        why="RFC 9112 §7.1 / RFC 5234: HEXDIG is case-insensitive.",
        body=b"0123456789",
    ),
    Case(
        name="chunk-size-uppercase-hex",
        kind="chunk-size",
        raw=(
            b"PUT /u HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"A\r\n0123456789\r\n0\r\n\r\n"
        ),
        status=200,
        why="RFC 9112 §7.1: uppercase HEXDIG.",
        body=b"0123456789",
    ),
    Case(
        name="chunk-size-two-chunks-zeros-last",
        kind="chunk-size",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n000\r\n\r\n"
        ),
        status=200,
        why='RFC 9112 §7.1: last-chunk = 1*"0".',
        body=b"hello world",
    ),
    Case(
        name="chunk-size-leading-zeros",
        kind="chunk-size",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"0005\r\nhello\r\n0\r\n\r\n"
        ),
        status=200,
        why="RFC 9112 §7.1: 1*HEXDIG may have leading zeros.",
        body=b"hello",
    ),
    Case(
        name="chunk-size-sixteen-digits",
        kind="chunk-size",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"0000000000000005\r\nhello\r\n0\r\n\r\n"
        ),
        status=200,
        why="Policy: up to 16 HEXDIG are read (RFC 9112 §7.1).",
        body=b"hello",
    ),
    Case(
        name="chunk-size-seventeen-digits",
        kind="chunk-size",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"00000000000000005\r\nhello\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §7.1: recipients must guard against large numerals; policy caps at 16.",
    ),
    Case(
        name="chunk-size-overflow-wrap",
        kind="chunk-size",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"10000000000000005\r\nhello\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §7.1: a 17-digit size that wraps to 5 in 64 bits must not be read as 5.",
    ),
    Case(
        name="chunk-data-contains-crlf-zero",
        kind="chunk-data",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"7\r\na\r\n0\r\n\r\r\n0\r\n\r\n"
        ),
        status=200,
        why="RFC 9112 §7.1: chunk-data is opaque; size decides, not the bytes inside.",
        body=b"a\r\n0\r\n\r",
    ),
    Case(
        name="chunk-size-0x-prefix",
        kind="chunk-size",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"0x5\r\nhello\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §7.1: chunk-size is bare HEXDIG; `x` is not one.",
    ),
    Case(
        name="chunk-size-plus-sign",
        kind="chunk-size",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"+5\r\nhello\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §7.1: no sign.",
    ),
    Case(
        name="chunk-size-leading-space",
        kind="chunk-size",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b" 5\r\nhello\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §7.1: nothing before chunk-size.",
    ),
    Case(
        name="chunk-size-trailing-space",
        kind="chunk-size",
        raw=(
            b"PUT /u HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"a \r\n0123456789\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §7.1.1: BWS is allowed only before `;`, not at the end of the line.",
    ),
    Case(
        name="chunk-size-space-lf-junk",
        kind="chunk-size",
        raw=(
            b"PUT /u HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3 \n  \r\nfoo\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §7.1: whitespace and a bare LF on the chunk-size line.",
    ),
    Case(
        name="chunk-size-word-without-semicolon",
        kind="chunk-size",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2 erfrferferf\r\naa\r\n0 rrrr\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §7.1.1: an extension starts with `;`.",
    ),
    Case(
        name="chunk-size-empty-line",
        kind="chunk-size",
        raw=b"PUT /u HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nfoo\r\n\r\n",
        status=400,
        why="RFC 9112 §7.1: an empty line where a chunk-size (or last-chunk) is due.",
    ),
    Case(
        name="chunk-size-bare-lf",
        kind="chunk-size",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §7.1: the chunk-size line ends in CRLF.",
    ),
    Case(
        name="chunk-size-bare-cr",
        kind="chunk-size",
        raw=(
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close \r\n"
            b"Transfer-Encoding: chunked \r\n\r\n"
            b"5\r\r;ABCD\r\n34\r\nE\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §2.2 / §7.1: bare CR after the chunk-size.",
    ),
    Case(
        name="chunk-size-last-chunk-bare-lf",
        kind="chunk-size",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\n\r\n",
        status=400,
        why="RFC 9112 §7.1: last-chunk ends in CRLF.",
    ),
    # ------------------------------------------------------------------ chunk extensions
    Case(
        name="chunk-ext-tokens",
        kind="chunk-ext",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;ilove;so=much;another=value\r\nhello\r\n6;blah;blah\r\n world\r\n0\r\n\r\n"
        ),
        status=200,
        why="RFC 9112 §7.1.1: unrecognised extensions are ignored.",
        body=b"hello world",
    ),
    Case(
        name="chunk-ext-quoted-with-escapes",
        kind="chunk-ext",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'5;a="I \\"like\\"; \\\\this\\\\";b="x";c;d=e\r\nhello\r\n0\r\n\r\n'
        ),
        status=200,
        why="RFC 9110 §5.6.4: quoted-string with quoted-pairs and `;` inside.",
        body=b"hello",
    ),
    Case(
        name="chunk-ext-bws-before-semicolon",
        kind="chunk-ext",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5 ;a\r\nhello\r\n0\t;z\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §7.1.1 allows BWS before ';', but h11 refuses it, and minicors is never "
        "looser than h11 about where a body ends (browsers never send it).",
    ),
    Case(
        name="chunk-ext-bws-around-equals",
        kind="chunk-ext",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5; a = b\t;\tc\r\nhello\r\n0\r\n\r\n"
        ),
        status=200,
        why="RFC 9112 §7.1.1: BWS is allowed after `;` and around `=`.",
        body=b"hello",
    ),
    Case(
        name="chunk-ext-last-chunk",
        kind="chunk-ext",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0;done\r\n\r\n",
        status=200,
        why="RFC 9112 §7.1: last-chunk may carry extensions.",
    ),
    Case(
        name="chunk-ext-semicolon-only",
        kind="chunk-ext",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2;\r\naa\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §7.1.1: `;` must be followed by a chunk-ext-name token.",
    ),
    Case(
        name="chunk-ext-empty-value",
        kind="chunk-ext",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2;a=\r\naa\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §7.1.1: after `=` a token or quoted-string is required.",
    ),
    Case(
        name="chunk-ext-space-in-value",
        kind="chunk-ext",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2;a=b c\r\naa\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §7.1.1: an unquoted value is a token; SP ends it.",
    ),
    Case(
        name="chunk-ext-bad-name-char",
        kind="chunk-ext",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2;a@b=c\r\naa\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §7.1.1: chunk-ext-name is a token.",
    ),
    Case(
        name="chunk-ext-unterminated-quote",
        kind="chunk-ext",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'5;a="abc";b="def; ghi\r\nhello\r\n6;blah\r\n world\r\n0\r\n\r\n'
        ),
        status=400,
        why="RFC 9110 §5.6.4: CR cannot appear in a quoted-string; the quote never closes.",
    ),
    Case(
        name="chunk-ext-bare-cr-in-quoted",
        kind="chunk-ext",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'5;a="x\ry"\r\nhello\r\n0\r\n\r\n'
        ),
        status=400,
        why="RFC 9112 §2.2 / RFC 9110 §5.6.4: bare CR inside an extension.",
    ),
    Case(
        name="chunk-ext-nul",
        kind="chunk-ext",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;a=b\x00\r\nhello\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §7.1.1: NUL is neither tchar nor qdtext.",
    ),
    Case(
        name="chunk-ext-control-in-quoted",
        kind="chunk-ext",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'5;a="x\x01y"\r\nhello\r\n0\r\n\r\n'
        ),
        status=400,
        why="RFC 9110 §5.6.4: qdtext excludes control bytes other than HTAB.",
    ),
    Case(
        name="chunk-ext-bare-lf-end",
        kind="chunk-ext",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;a=b\nhello\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §7.1: the chunk-size line ends in CRLF.",
    ),
    # ------------------------------------------------------------------ chunk data
    Case(
        name="chunk-data-too-long",
        kind="chunk-data",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nfooo\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §7.1: chunk-data is exactly chunk-size octets then CRLF.",
    ),
    Case(
        name="chunk-data-glued-to-next-size",
        kind="chunk-data",
        raw=(
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close \r\n"
            b"Transfer-Encoding: chunked \r\n\r\n"
            b"5\r\nABCDE0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §7.1: CRLF must follow the chunk-data.",
    ),
    Case(
        name="chunk-data-too-short",
        kind="chunk-data",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc\r\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §7.1: the 5 data octets are `abc\\r\\n`, then `0\\r` is not CRLF.",
    ),
    Case(
        name="chunk-data-bare-lf-end",
        kind="chunk-data",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §7.1: chunk-data ends in CRLF, not LF.",
    ),
    Case(
        name="chunk-data-bare-cr-end",
        kind="chunk-data",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r0\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §7.1: chunk-data ends in CRLF, not CR.",
    ),
    Case(
        name="chunk-data-binary",
        kind="chunk-data",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"4\r\n\x00\xff\r\n\r\n0\r\n\r\n"
        ),
        status=200,
        why="RFC 9112 §7.1: chunk-data is any octets.",
        body=b"\x00\xff\r\n",
    ),
    # ------------------------------------------------------------------ trailers
    Case(
        name="trailer-fields",
        kind="trailer",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTrailer: Vary\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\nVary: *\r\nContent-Type: text/plain\r\n\r\n"
        ),
        status=200,
        why="RFC 9112 §7.1.2: trailer-section = *( field-line CRLF ); discarded.",
        body=b"hello world",
    ),
    Case(
        name="trailer-framing-fields-ignored",
        kind="trailer",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\nok\r\n0\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
        ),
        status=200,
        why="RFC 9110 §6.5.1: trailers never affect framing; they are discarded here.",
        body=b"ok",
    ),
    Case(
        name="trailer-obs-text-value",
        kind="trailer",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\nok\r\n0\r\nX:  \xe9t\xe9 \r\n\r\n"
        ),
        status=200,
        why="RFC 9110 §5.5: obs-text and OWS in a trailer value are fine.",
        body=b"ok",
    ),
    Case(
        name="trailer-final-bare-lf",
        kind="trailer",
        raw=b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\n",
        status=400,
        why="RFC 9112 §7.1: the chunked body ends with CRLF after the trailer section.",
    ),
    Case(
        name="trailer-line-bare-lf",
        kind="trailer",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\nok\r\n0\r\nX: y\n\r\n"
        ),
        status=400,
        why="RFC 9112 §7.1.2: trailer field lines end in CRLF.",
    ),
    Case(
        name="trailer-end-bare-lf-after-field",
        kind="trailer",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\nok\r\n0\r\nX: y\r\n\n"
        ),
        status=400,
        why="RFC 9112 §7.1: the final empty line is CRLF.",
    ),
    Case(
        name="trailer-bare-cr",
        kind="trailer",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\nok\r\n0\r\nX: a\rb\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §2.2: bare CR in a trailer line.",
    ),
    Case(
        name="trailer-final-bare-cr",
        kind="trailer",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\nok\r\n0\r\n\r\r\n"
        ),
        status=400,
        why="RFC 9112 §2.2: bare CR where the final CRLF is due.",
    ),
    Case(
        name="trailer-obs-fold",
        kind="trailer",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\nok\r\n0\r\nX: a\r\n b\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §5.2 / §7.1.2: obs-fold in a trailer section.",
    ),
    Case(
        name="trailer-first-line-folded",
        kind="trailer",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\nok\r\n0\r\n X: a\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §7.1.2: a trailer field line starts with a field-name, not whitespace.",
    ),
    Case(
        name="trailer-space-before-colon",
        kind="trailer",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\nok\r\n0\r\nX : a\r\n\r\n"
        ),
        status=400,
        why="RFC 9112 §5.1: whitespace before the colon, same rule as header fields.",
    ),
    Case(
        name="trailer-control-in-value",
        kind="trailer",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\nok\r\n0\r\nX: a\x01b\r\n\r\n"
        ),
        status=400,
        why="RFC 9110 §5.5: control byte in a trailer value.",
    ),
    # ------------------------------------------------------------------ body limits
    Case(
        name="chunked-at-body-limit",
        kind="body-limit",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"80000\r\n"
            + _MIB[: MAX_BODY // 2]
            + b"\r\n80000\r\n"
            + _MIB[MAX_BODY // 2 :]
            + b"\r\n0\r\n\r\n"
        ),
        status=200,
        why="Policy: a decoded body of exactly 1048576 bytes is accepted.",
        body=_MIB,
    ),
    Case(
        name="chunked-over-body-limit-one-chunk",
        kind="body-limit",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"100001\r\n"
            + _MIB
            + b"b\r\n0\r\n\r\n"
        ),
        status=413,
        why="RFC 9110 §15.5.14: decoded body over the 1048576-byte limit.",
    ),
    Case(
        name="chunked-over-body-limit-summed",
        kind="body-limit",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"80000\r\n"
            + _MIB[: MAX_BODY // 2]
            + b"\r\n80001\r\n"
            + _MIB[MAX_BODY // 2 :]
            + b"b\r\n0\r\n\r\n"
        ),
        status=413,
        why="RFC 9110 §15.5.14: the chunks together exceed the limit by one byte.",
    ),
    Case(
        name="chunked-many-chunks-under-limit",
        kind="body-limit",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"1\r\na\r\n" * (MAX_CHUNKS - 1)
            + b"0\r\n\r\n"
        ),
        status=200,
        why="Policy: 999 data chunks plus the last-chunk stay within 1000 chunks.",
        body=b"a" * (MAX_CHUNKS - 1),
    ),
    Case(
        name="chunked-too-many-chunks",
        kind="body-limit",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"1\r\na\r\n" * (MAX_CHUNKS + 1)
            + b"0\r\n\r\n"
        ),
        status=413,
        why="Policy: more than 1000 chunks per body is refused (RFC 9110 §15.5.14).",
    ),
    # ------------------------------------------------------------------ Connection
    Case(
        name="connection-close",
        kind="connection",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        status=200,
        why="RFC 9112 §9.6: `close` ends the connection after the response.",
        keep_alive=False,
    ),
    Case(
        name="connection-close-mixed-case",
        kind="connection",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nConnection: ClOsE\r\n\r\n",
        status=200,
        why="RFC 9110 §7.6.1: connection options are case-insensitive.",
        keep_alive=False,
    ),
    Case(
        name="connection-close-trailing-tab",
        kind="connection",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\t\r\n\r\n",
        status=200,
        why="RFC 9112 §5.1: trailing OWS is trimmed, the option is `close`.",
        keep_alive=False,
    ),
    Case(
        name="connection-close-in-list",
        kind="connection",
        raw=b"PUT /u HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, token,close , other\r\n\r\n",
        status=200,
        why="RFC 9110 §7.6.1 / §5.6.1: `close` as one element of the list.",
        keep_alive=False,
    ),
    Case(
        name="connection-close-with-body",
        kind="connection",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 4\r\nConnection: close\r\n\r\nq=42"
        ),
        status=200,
        why="RFC 9112 §9.6: nothing after a `close` request is read.",
        body=b"q=42",
        keep_alive=False,
    ),
    Case(
        name="connection-closed-is-not-close",
        kind="connection",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nConnection: closed\r\n\r\n",
        status=200,
        why="RFC 9110 §7.6.1: options are whole tokens; `closed` is not `close`.",
    ),
    Case(
        name="connection-xclose-is-not-close",
        kind="connection",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nConnection: xclose\r\n\r\n",
        status=200,
        why="RFC 9110 §7.6.1: no substring matching of options.",
    ),
    Case(
        name="connection-keep-alive",
        kind="connection",
        raw=b"PUT /u HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n",
        status=200,
        why="RFC 9112 §9.3: HTTP/1.1 is persistent by default.",
    ),
    # ------------------------------------------------------------------ Expect
    Case(
        name="expect-100-continue-no-body",
        kind="expect",
        raw=b"GET / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n\r\n",
        status=200,
        why="RFC 9110 §10.1.1: with no content to wait for, the final response is sent directly.",
    ),
    Case(
        name="expect-100-continue-with-body",
        kind="expect",
        raw=(
            b"POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello"
        ),
        status=200,
        why="RFC 9110 §10.1.1: a server MAY omit 100 once content has arrived; policy answers 200.",
        body=b"hello",
    ),
)
