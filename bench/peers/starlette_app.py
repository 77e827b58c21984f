"""The ASGI peer: Starlette's `StaticFiles` behind `CORSMiddleware`, with the policy minicors is
started with (one exact origin, the default methods, any requested header, max-age 600, the
default exposed headers, no credentials).  The directory comes from `MINICORS_BENCH_ROOT`.
"""

from __future__ import annotations

import os
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

ORIGIN = "http://localhost:5173"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
EXPOSE = ["ETag", "Link", "Location", "X-Total-Count"]


def build(root: str) -> Any:
    return Starlette(
        routes=[Mount("/", app=StaticFiles(directory=root))],
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=[ORIGIN],
                allow_methods=METHODS,
                allow_headers=["*"],
                expose_headers=EXPOSE,
                max_age=600,
            )
        ],
    )


app = build(os.environ.get("MINICORS_BENCH_ROOT", "."))
