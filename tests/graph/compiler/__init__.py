"""Tests of graph/compiler/."""
