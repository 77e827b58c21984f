"""nginx with the same CORS policy, as one foreground process (no master, one worker).

The configuration is written at run time into a temporary prefix directory that also holds the
pid file, the error log and every temp path, so nothing outside it is touched.  Files go out by
`sendfile`; a preflight is answered in an `if ($request_method = OPTIONS)` block.
"""

from __future__ import annotations

from pathlib import Path

NGINX = "/usr/sbin/nginx"

CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    types {{ application/json json; text/javascript js; text/html html; }}
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 10000000;
    keepalive_timeout 60s;
    # An 8 KB Cookie line does not fit nginx's default 8k header buffers (it would get 400).
    large_client_header_buffers 4 16k;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    # Exact origin match; an empty value makes add_header send nothing.
    map $http_origin $cors_origin {{
        default "";
        "{origin}" $http_origin;
    }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{
            set $preflight "";
            if ($request_method = OPTIONS) {{ set $preflight "P"; }}
            if ($cors_origin = "") {{ set $preflight "${{preflight}}D"; }}
            if ($preflight = "PD") {{ return 403; }}
            if ($preflight = "P") {{
                add_header Access-Control-Allow-Origin $cors_origin;
                add_header Access-Control-Allow-Methods "{methods}";
                add_header Access-Control-Allow-Headers $http_access_control_request_headers;
                add_header Access-Control-Max-Age 600;
                add_header Vary "{preflight_vary}";
                add_header Content-Length 0;
                return 204;
            }}
            add_header Access-Control-Allow-Origin $cors_origin;
            add_header Access-Control-Expose-Headers "{expose}";
            add_header Vary Origin;
        }}
    }}
}}
"""


def write_conf(tmp: Path, *, root: Path, port: int, origin: str) -> Path:
    """Write nginx.conf into `tmp` and return its path (run: nginx -p tmp -c conf)."""
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    conf = tmp / "nginx.conf"
    conf.write_text(
        CONF.format(
            tmp=tmp,
            root=root,
            port=port,
            origin=origin,
            methods="GET, HEAD, POST, PUT, PATCH, DELETE",
            expose="ETag, Link, Location, X-Total-Count",
            preflight_vary="Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        )
    )
    return conf


def command(tmp: Path, conf: Path) -> list[str]:
    return [NGINX, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log")]
