"""Tests of graph/schema/."""
