"""Tests of graph/entities/user/."""
