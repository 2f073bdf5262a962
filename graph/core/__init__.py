"""Mechanisms every entity shares, written once.

The request context and its one database session, loaders, keyset paging and Relay connections,
access rules, validation, geo, global IDs and the custom scalars. Depends on `models/` only,
never on an entity, the schema or HTTP.
"""
