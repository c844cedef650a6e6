"""Collectors: read the chain and turn what they see into the records in `streams.records`."""
