"""Resolvers too big for a method on their type."""
