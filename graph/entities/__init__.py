"""One package per entity: venue, booking, media, user, session, audit.

Each holds its GraphQL type, inputs, root queries and mutations. Entities build on `graph.core`;
types that reference each other do so through `strawberry.lazy`.
"""
