"""Venue adapters: one folder per venue, one interface (`interface`), one registry (`registry`)."""
