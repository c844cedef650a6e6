"""Subcommands of the `solbot` CLI that live in their own modules (`add_parser` + `main`)."""
