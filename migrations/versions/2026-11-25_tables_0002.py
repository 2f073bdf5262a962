"""Tables: users, sessions, venues, bookings, media, with constraints and indexes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 08:31:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES_WITH_UPDATED_AT = ("users", "sessions", "venues", "bookings", "media")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), server_default=sa.text("uuid_generate_v7()"), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=16), server_default="member", nullable=False),
        sa.Column("password_hash", sa.String(), nullable=True),
        sa.Column(
            "preferences",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "email = btrim(email) AND position('@' in email) > 1", name=op.f("ck_users_email")
        ),
        sa.CheckConstraint(
            "jsonb_typeof(preferences) = 'object'", name=op.f("ck_users_preferences_object")
        ),
        sa.CheckConstraint("role IN ('member', 'host', 'admin')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_index(
        "ix_users_role_live",
        "users",
        ["role"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "uq_users_email_live",
        "users",
        [sa.literal_column("lower(email)")],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Uuid(), server_default=sa.text("uuid_generate_v7()"), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column(
            "last_seen_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("ip_address", postgresql.INET(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sessions_token_hash")),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"], unique=False)
    op.create_index(
        "ix_sessions_user_id_active",
        "sessions",
        ["user_id", "expires_at"],
        unique=False,
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.create_table(
        "venues",
        sa.Column("id", sa.Uuid(), server_default=sa.text("uuid_generate_v7()"), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("city", sa.String(length=120), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column(
            "location",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "amenities",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("hourly_rate", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('sartiq'::regconfig, coalesce(name, '')), 'A') || setweight(to_tsvector('sartiq'::regconfig, coalesce(city, '')), 'B') || setweight(jsonb_to_tsvector('sartiq'::regconfig, amenities, '[\"key\"]'::jsonb), 'B') || setweight(to_tsvector('sartiq'::regconfig, coalesce(description, '')), 'C')",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("country ~ '^[A-Z]{2}$'", name=op.f("ck_venues_country_iso3166")),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_venues_currency_iso4217")),
        sa.CheckConstraint(
            "jsonb_typeof(amenities) = 'object'", name=op.f("ck_venues_amenities_object")
        ),
        sa.CheckConstraint("hourly_rate >= 0", name=op.f("ck_venues_hourly_rate_non_negative")),
        sa.CheckConstraint("length(btrim(name)) > 0", name=op.f("ck_venues_name_not_blank")),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_venues_owner_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_venues")),
    )
    op.create_index(
        "ix_venues_amenities",
        "venues",
        ["amenities"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"amenities": "jsonb_path_ops"},
    )
    op.create_index(
        "ix_venues_city_live",
        "venues",
        ["city"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "ix_venues_location",
        "venues",
        ["location"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_venues_owner_id", "venues", ["owner_id"], unique=False)
    op.create_index(
        "ix_venues_owner_id_live",
        "venues",
        ["owner_id"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index("ix_venues_search", "venues", ["search"], unique=False, postgresql_using="gin")
    op.create_table(
        "bookings",
        sa.Column("id", sa.Uuid(), server_default=sa.text("uuid_generate_v7()"), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("venue_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        postgresql.ExcludeConstraint(
            (sa.column("venue_id"), "="),
            (sa.text("tstzrange(starts_at, ends_at, '[)')"), "&&"),
            where=sa.text("deleted_at IS NULL AND status IN ('pending', 'confirmed')"),
            using="gist",
            name="ex_bookings_venue_no_overlap",
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_bookings_currency_iso4217")),
        sa.CheckConstraint(
            "status IN ('pending', 'confirmed', 'completed', 'cancelled')",
            name=op.f("ck_bookings_status"),
        ),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_bookings_amount_non_negative")),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_bookings_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_bookings_user_id_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["venue_id"],
            ["venues.id"],
            name=op.f("fk_bookings_venue_id_venues"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
    )
    op.create_index(
        "ix_bookings_starts_at_live",
        "bookings",
        ["starts_at"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index("ix_bookings_user_id", "bookings", ["user_id"], unique=False)
    op.create_index(
        "ix_bookings_user_id_starts_at_live",
        "bookings",
        ["user_id", "starts_at", "id"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index("ix_bookings_venue_id", "bookings", ["venue_id"], unique=False)
    op.create_index(
        "ix_bookings_venue_id_starts_at_live",
        "bookings",
        ["venue_id", "starts_at", "id"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "media",
        sa.Column("id", sa.Uuid(), server_default=sa.text("uuid_generate_v7()"), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("venue_id", sa.Uuid(), nullable=True),
        sa.Column("booking_id", sa.Uuid(), nullable=True),
        sa.Column("resource_type", sa.String(length=8), nullable=False),
        sa.Column("storage_key", sa.String(length=512), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("extension", sa.String(length=10), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("duration_seconds", sa.Numeric(precision=10, scale=3), nullable=True),
        sa.Column("dominant_color", sa.String(length=7), nullable=True),
        sa.Column("alt_text", sa.Text(), nullable=True),
        sa.Column("caption", sa.Text(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "tags",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column(
            "exif",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "location",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
            ),
            nullable=True,
        ),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('sartiq'::regconfig, coalesce(title, '')), 'A') || setweight(to_tsvector('sartiq'::regconfig, sartiq_tags_text(tags)), 'B') || setweight(to_tsvector('sartiq'::regconfig, coalesce(caption, '')), 'C')",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "content_hash ~ '^[0-9a-f]{64}$'", name=op.f("ck_media_content_hash_sha256")
        ),
        sa.CheckConstraint(
            "dominant_color IS NULL OR dominant_color ~ '^#[0-9a-f]{6}$'",
            name=op.f("ck_media_dominant_color"),
        ),
        sa.CheckConstraint("extension ~ '^[a-z0-9]{1,10}$'", name=op.f("ck_media_extension")),
        sa.CheckConstraint("jsonb_typeof(exif) = 'object'", name=op.f("ck_media_exif_object")),
        sa.CheckConstraint(
            "resource_type = 'VIDEO' OR duration_seconds IS NULL",
            name=op.f("ck_media_duration_only_video"),
        ),
        sa.CheckConstraint(
            "resource_type IN ('IMAGE', 'VIDEO')", name=op.f("ck_media_resource_type")
        ),
        sa.CheckConstraint(
            "duration_seconds IS NULL OR duration_seconds > 0",
            name=op.f("ck_media_duration_positive"),
        ),
        sa.CheckConstraint("file_size > 0", name=op.f("ck_media_file_size_positive")),
        sa.CheckConstraint("height IS NULL OR height > 0", name=op.f("ck_media_height_positive")),
        sa.CheckConstraint("width IS NULL OR width > 0", name=op.f("ck_media_width_positive")),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_media_booking_id_bookings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_media_owner_id_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["venue_id"], ["venues.id"], name=op.f("fk_media_venue_id_venues"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media")),
    )
    op.create_index("ix_media_booking_id", "media", ["booking_id"], unique=False)
    op.create_index("ix_media_content_hash", "media", ["content_hash"], unique=False)
    op.create_index(
        "ix_media_location",
        "media",
        ["location"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_media_owner_id", "media", ["owner_id"], unique=False)
    op.create_index("ix_media_search", "media", ["search"], unique=False, postgresql_using="gin")
    op.create_index("ix_media_tags", "media", ["tags"], unique=False, postgresql_using="gin")
    op.create_index("ix_media_venue_id", "media", ["venue_id"], unique=False)
    op.create_index(
        "ix_media_venue_id_live",
        "media",
        ["venue_id", "created_at", "id"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index("uq_media_storage_key", "media", ["storage_key"], unique=True)

    for table in TABLES_WITH_UPDATED_AT:
        op.execute(
            f"CREATE TRIGGER set_updated_at BEFORE UPDATE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION set_updated_at()"
        )


def downgrade() -> None:
    for table in TABLES_WITH_UPDATED_AT:
        op.execute(f"DROP TRIGGER set_updated_at ON {table}")
    op.drop_index("uq_media_storage_key", table_name="media")
    op.drop_index(
        "ix_media_venue_id_live", table_name="media", postgresql_where=sa.text("deleted_at IS NULL")
    )
    op.drop_index("ix_media_venue_id", table_name="media")
    op.drop_index("ix_media_tags", table_name="media", postgresql_using="gin")
    op.drop_index("ix_media_search", table_name="media", postgresql_using="gin")
    op.drop_index("ix_media_owner_id", table_name="media")
    op.drop_index("ix_media_location", table_name="media", postgresql_using="gist")
    op.drop_index("ix_media_content_hash", table_name="media")
    op.drop_index("ix_media_booking_id", table_name="media")
    op.drop_table("media")
    op.drop_index(
        "ix_bookings_venue_id_starts_at_live",
        table_name="bookings",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index("ix_bookings_venue_id", table_name="bookings")
    op.drop_index(
        "ix_bookings_user_id_starts_at_live",
        table_name="bookings",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index("ix_bookings_user_id", table_name="bookings")
    op.drop_index(
        "ix_bookings_starts_at_live",
        table_name="bookings",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_table("bookings")
    op.drop_index("ix_venues_search", table_name="venues", postgresql_using="gin")
    op.drop_index(
        "ix_venues_owner_id_live",
        table_name="venues",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index("ix_venues_owner_id", table_name="venues")
    op.drop_index("ix_venues_location", table_name="venues", postgresql_using="gist")
    op.drop_index(
        "ix_venues_city_live", table_name="venues", postgresql_where=sa.text("deleted_at IS NULL")
    )
    op.drop_index(
        "ix_venues_amenities",
        table_name="venues",
        postgresql_using="gin",
        postgresql_ops={"amenities": "jsonb_path_ops"},
    )
    op.drop_table("venues")
    op.drop_index(
        "ix_sessions_user_id_active",
        table_name="sessions",
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.drop_index("ix_sessions_user_id", table_name="sessions")
    op.drop_table("sessions")
    op.drop_index(
        "uq_users_email_live", table_name="users", postgresql_where=sa.text("deleted_at IS NULL")
    )
    op.drop_index(
        "ix_users_role_live", table_name="users", postgresql_where=sa.text("deleted_at IS NULL")
    )
    op.drop_table("users")
