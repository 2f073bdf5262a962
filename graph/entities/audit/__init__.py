"""The audit trail: the `AuditEvent` type and the `history` field of audited objects."""

from graph.core.global_id import decode_timestamped_id
from graph.core.node_lookup import register_node_loader
from graph.entities.audit.history import load_audit_event

# An event's global ID holds its time too (the table is partitioned by it), and only admins may
# look one up, so it registers its own decoding and loading.
register_node_loader(
    "AuditEvent",
    decode=lambda global_id, field: decode_timestamped_id(global_id, "AuditEvent", field=field),
    load=load_audit_event,
)
