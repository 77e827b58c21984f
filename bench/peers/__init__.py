"""The servers minicors is measured against: the h11 + trio floor, a Starlette app, nginx."""
