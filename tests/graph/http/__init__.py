"""Tests of graph/http/."""
