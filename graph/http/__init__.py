"""The HTTP layer: the FastAPI app, the /graphql endpoint, probes and request limits.

It sits on top: the schema, resolvers and models never import it.
"""
