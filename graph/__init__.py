"""Sartiq Graph: the Strawberry schema, its types, resolvers and loaders, and the FastAPI app."""
