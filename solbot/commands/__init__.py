"""Command modules: each has `add_parser(subparsers)` and `main(settings, args) -> int`."""
