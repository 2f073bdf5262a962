"""One package per entity: venue, booking, media, user, session, audit.

Each holds its GraphQL type, inputs, root queries and mutations, and registers its type with
`graph.core.node_lookup` when imported. Entities build on `graph.core`; a type that reaches
another entity names it through `strawberry.lazy` and maps its rows with `to_node`, so no two
entities import each other (`tests/test_architecture.py`).
"""
