"""Tests of graph/entities/."""
