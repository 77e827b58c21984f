"""minicors: an HTTP/1.1 server on h11 and trio that gets CORS exactly right.

The public surface is exactly `__all__`; everything else may change between releases.

    import trio, minicors
    policy = minicors.CorsPolicy(allow_origins=["https://app.example.com"], allow_credentials=True)
    trio.run(minicors.serve, minicors.Config(root="public", cors=policy))
"""

from __future__ import annotations

from .config import Config
from .cors import CorsPolicy, CorsRouter
from .errors import ConfigError, HttpError, MinicorsError
from .messages import FileBody, Request, Response
from .options import ApiOptions, Limits, StaticOptions, TlsOptions
from .server import BoundAddress, run, serve
from .version import __version__

__all__ = [
    "ApiOptions",
    "BoundAddress",
    "Config",
    "ConfigError",
    "CorsPolicy",
    "CorsRouter",
    "FileBody",
    "HttpError",
    "Limits",
    "MinicorsError",
    "Request",
    "Response",
    "StaticOptions",
    "TlsOptions",
    "__version__",
    "run",
    "serve",
]
