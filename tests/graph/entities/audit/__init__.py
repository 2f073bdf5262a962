"""Tests of graph/entities/audit/."""
