"""Tests of graph/entities/media/."""
