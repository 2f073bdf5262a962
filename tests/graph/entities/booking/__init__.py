"""Tests of graph/entities/booking/."""
