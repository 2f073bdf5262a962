"""Tests of graph/core/."""
