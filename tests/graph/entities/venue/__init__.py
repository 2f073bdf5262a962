"""Tests of graph/entities/venue/."""
