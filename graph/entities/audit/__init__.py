"""The audit trail: the `AuditEvent` type and the `history` field of audited objects."""
