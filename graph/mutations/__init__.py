"""Mutations, one module per area; `graph.schema.Mutation` inherits them all."""
