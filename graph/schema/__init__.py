"""The GraphQL schema and the policy around every operation.

Assembly of `Query` and `Mutation` (`root.py`); the limits checked before an operation runs
(tokens, depth, aliases, width, cost) and its time budget; input hygiene; persisted queries;
error codes and masking; metrics.
"""
