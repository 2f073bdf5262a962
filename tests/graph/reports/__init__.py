"""Tests of graph/reports/."""
