"""GraphQL object types, one module per type, each mapped explicitly from its model."""
