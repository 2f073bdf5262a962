"""Venues: the `Venue` type, filters and orders, `venue`/`venues`, nearby venues, mutations."""
