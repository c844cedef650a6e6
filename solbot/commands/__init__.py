"""Subcommands in their own modules, each with `add_parser(subparsers)` and `main(settings, args)`."""
