"""Command modules of the `solbot` CLI.

Each has `add_parser(subparsers)` and `main(settings, args) -> int`; solbot/cli.py lists them.
"""
