"""Tests of graph/search/."""
