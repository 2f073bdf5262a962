"""Root query fields, one module per area; `graph.schema.Query` inherits them all."""
