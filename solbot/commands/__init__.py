"""CLI sub-commands, one module each: `add_parser(subparsers)` declares it, `main(settings, args)` runs it."""
