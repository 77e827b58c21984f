"""`python -m minicors ...` is the `minicors` command."""

from minicors.cli import main

raise SystemExit(main())
