"""The one place the version is written (the package, the `Server` header and `--version`)."""

__version__ = "0.1.0"
