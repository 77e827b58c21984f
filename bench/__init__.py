"""Benchmark harness: minicors against a bare h11 + trio floor and peer servers (`make bench`)."""
