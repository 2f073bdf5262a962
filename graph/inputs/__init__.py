"""Typed list arguments: one filter input and one order enum per list, with their SQL."""
