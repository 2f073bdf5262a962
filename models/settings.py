"""Process configuration, read from the environment and `.env`."""

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, PostgresDsn, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@localhost:5432/sartiq"


class Settings(BaseSettings):
    """Every knob of the service; defaults follow our connection standard."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: PostgresDsn = Field(default=PostgresDsn(DEFAULT_DATABASE_URL))
    port: int = Field(default=8000, ge=1, le=65535)

    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout_seconds: float = Field(default=30.0, gt=0)
    db_pool_recycle_seconds: int = Field(default=1800, ge=-1)
    # A round-trip ping before every checkout; closed connections are refused without one
    # (models/database.py: refuse_closed_connection).
    db_pool_pre_ping: bool = False
    db_statement_cache_size: int = Field(default=500, ge=0)
    db_statement_timeout_ms: int = Field(default=30_000, ge=0)
    db_idle_in_transaction_timeout_ms: int = Field(default=60_000, ge=0)
    # How often a backend running a statement checks that its client is still connected: a
    # request cancelled at its deadline drops its connection, and the statement stops then.
    db_client_connection_check_interval_ms: int = Field(default=1_000, ge=0)
    db_application_name: str = "sartiq-graph"
    # Behind PgBouncer in transaction pooling mode: no prepared-statement caches, unique
    # statement names, no session settings in the startup packet (see models/database.py).
    db_pgbouncer: bool = False
    # GraphQL subscriptions (graph/live/): each worker LISTENs on one connection of its own.
    # LISTEN needs a session of its own on the server, which PgBouncer in transaction mode
    # does not give: behind it, point this at PostgreSQL directly. Unset: `database_url`.
    database_listen_url: PostgresDsn | None = None
    # Streaming replicas of the primary (`database_url`) for reads (graph/core/read_routing.py):
    # comma-separated URLs or a JSON list. None: everything on the primary, as without them.
    database_replica_urls: Annotated[tuple[PostgresDsn, ...], NoDecode] = ()
    # A replica further behind the primary than this leaves rotation until it catches up. A
    # healthy replica replays within milliseconds; one seconds behind is stuck (a long query
    # holding replay back, saturated I/O), not jittering. The client's own writes are read
    # where they are visible anyway (the consistency token): this bounds how late it may see
    # other people's.
    replica_max_lag_seconds: float = Field(default=2.0, gt=0)
    # How often each worker asks every replica how far it has replayed.
    replica_poll_interval_seconds: float = Field(default=0.5, gt=0)
    # A replica that does not answer a poll or a connection within this is out of rotation.
    replica_timeout_seconds: float = Field(default=1.0, gt=0)
    # Websocket connections one worker holds open; one more is closed with code 1013.
    live_max_connections_per_worker: int = Field(default=2_000, ge=1)
    # Subscriptions one connection runs at once; one more closes it with code 4430.
    live_max_subscriptions_per_connection: int = Field(default=20, ge=1)
    # Events waiting for one slow subscription; past this it is told to resync instead.
    live_queue_size: int = Field(default=64, ge=1)
    # Seconds a new websocket may take to send `connection_init` (then closed with 4408).
    live_connection_init_timeout_seconds: float = Field(default=10.0, gt=0)
    # The longest time window an availability subscription may watch.
    live_max_window_days: int = Field(default=93, ge=1)

    graphiql: bool = True
    # Supported queries run as one SQL statement that builds the JSON (graph/compiler/).
    fast_path: bool = True
    # Statements slower than this are logged with the operation name and request id.
    slow_statement_ms: float = Field(default=200.0, ge=0)

    # Query safety (graph/schema/query_limits.py), checked before any SQL runs. Measured on
    # graph/operations/: depth at most 7 (HostDashboard), 140 tokens, no aliases, 913 bytes.
    max_query_depth: int = Field(default=12, ge=1)
    max_aliases: int = Field(default=30, ge=0)
    max_tokens: int = Field(default=2_000, ge=1)
    # Costs (graph/schema/query_cost.py): HostDashboard 3,306 at its defaults (20 venues x 10
    # bookings); every other operation at most 3,501 even with pages of 100; the benchmark's
    # venues(first: 50) with bookings(first: 10) { user } and media(first: 5): 7,051.
    max_query_cost: int = Field(default=10_000, ge=1)
    max_request_bytes: int = Field(default=100_000, ge=1)
    # All request headers together; a browser's, cookies included, stay well under 16 KiB.
    max_header_bytes: int = Field(default=32_768, ge=1)
    # A client that stops sending its body half-way holds a worker's request open: not longer.
    request_body_timeout_seconds: float = Field(default=10.0, gt=0)
    # Fields and fragment spreads in one selection set (its inline fragments merged in).
    # Validation compares them pairwise, so its time grows with the square of this; the
    # operations of graph/operations/ select at most 12.
    max_selections: int = Field(default=64, ge=1)
    # Pairs of fields under one response path (fragments inlined), which validation also
    # compares pairwise, sub-selections included; the frontend's operations have none.
    max_same_name_pairs: int = Field(default=2_000, ge=0)
    # Every GraphQL request ends within this, answered QUERY_TIMEOUT when it runs longer
    # (graph/schema/deadline.py); each statement is also bounded by `db_statement_timeout_ms`.
    request_timeout_seconds: float = Field(default=10.0, gt=0)
    introspection: bool = True
    # Production: only the operations of graph/operations/allowlist.json and of the manifests
    # below are served.
    persisted_queries_only: bool = False
    # The persisted documents the frontend's build wrote, added to the allow-list: paths,
    # comma-separated, of GraphQL Code Generator's `persisted-documents.json` or Apollo's
    # persisted query manifest (graph/schema/persisted_queries.py reads both).
    persisted_documents_manifests: Annotated[tuple[Path, ...], NoDecode] = ()
    # Documents registered by automatic persisted queries, kept per worker process.
    persisted_queries_cache_size: int = Field(default=1_000, ge=0)
    # Origins whose browser pages may call the API (CORS), comma-separated, such as
    # `https://app.example.com`; none by default: the frontend is served from the same origin.
    cors_allowed_origins: Annotated[tuple[str, ...], NoDecode] = ()
    # Seconds any cache may keep the answer to an anonymous GET of a persisted document
    # (`Cache-Control: public, max-age=N`, graph/http/caching.py); 0 makes caches revalidate.
    http_cache_max_age_seconds: int = Field(default=60, ge=0)

    session_lifetime_days: int = Field(default=30, ge=1, le=365)
    # Sign-in throttling (models/login_throttle.py), shared by every instance through
    # PostgreSQL: attempts per account and per client address (IPv6: per /64) in a window.
    # A successful sign-in clears its account's count and does not count for its address.
    login_account_attempts: int = Field(default=10, ge=1)
    login_account_window_seconds: int = Field(default=900, ge=1)
    login_address_attempts: int = Field(default=50, ge=1)
    login_address_window_seconds: int = Field(default=600, ge=1)
    # Argon2 runs on a pool of this many threads per process (default: half the CPUs, at least
    # one); when this many more are waiting, sign-ins and sign-ups are refused for a moment.
    password_hash_threads: int | None = Field(default=None, ge=1)
    password_hash_max_waiting: int = Field(default=16, ge=0)

    @field_validator("database_url")
    @classmethod
    def force_asyncpg_driver(cls, url: PostgresDsn) -> PostgresDsn:
        """Accept `postgresql://` and `postgres://` URLs but always talk through asyncpg."""
        text = str(url)
        scheme, _, rest = text.partition("://")
        if scheme != "postgresql+asyncpg":
            return PostgresDsn(f"postgresql+asyncpg://{rest}")
        return url

    @field_validator("database_listen_url")
    @classmethod
    def force_asyncpg_listen_driver(cls, url: PostgresDsn | None) -> PostgresDsn | None:
        """As `database_url`: any PostgreSQL scheme, kept as `postgresql+asyncpg`."""
        return None if url is None else cls.force_asyncpg_driver(url)

    @field_validator("database_replica_urls", mode="before")
    @classmethod
    def split_replica_urls(cls, value: object) -> object:
        """`["postgresql://r1/db", ...]` or `postgresql://r1/db,postgresql://r2/db`."""
        return _listed(value)

    @field_validator("database_replica_urls")
    @classmethod
    def force_asyncpg_replica_drivers(
        cls, urls: tuple[PostgresDsn, ...]
    ) -> tuple[PostgresDsn, ...]:
        """As `database_url`: any PostgreSQL scheme, kept as `postgresql+asyncpg`."""
        return tuple(cls.force_asyncpg_driver(url) for url in urls)

    @field_validator("persisted_documents_manifests", mode="before")
    @classmethod
    def split_paths(cls, value: object) -> object:
        """`a.json,b.json` or `["a.json", "b.json"]` (as the environment gives it): two paths."""
        listed = _listed(value)
        return tuple(Path(part) for part in listed) if isinstance(listed, tuple) else listed

    @field_validator("cors_allowed_origins", mode="before")
    @classmethod
    def split_origins(cls, value: object) -> object:
        """`https://a.example,https://b.example` or a JSON list of them: two origins."""
        return _listed(value)

    @property
    def libpq_url(self) -> str:
        """The database URL without the driver suffix, for psql and asyncpg.connect."""
        return str(self.database_url).replace("postgresql+asyncpg://", "postgresql://", 1)

    @property
    def replica_libpq_urls(self) -> tuple[str, ...]:
        """The replicas' URLs without the driver suffix, for asyncpg.connect."""
        return tuple(
            str(url).replace("postgresql+asyncpg://", "postgresql://", 1)
            for url in self.database_replica_urls
        )

    @property
    def listen_libpq_url(self) -> str:
        """Where the subscriptions' listening connection goes, for asyncpg.connect."""
        url = self.database_listen_url or self.database_url
        return str(url).replace("postgresql+asyncpg://", "postgresql://", 1)


def _listed(value: object) -> object:
    """A list setting from the environment: a JSON list, or items separated by commas.

    Both spellings are common (pydantic-settings decodes JSON for lists, `.env` files tend
    to use commas), so each list setting takes both. Anything but a string (a Python caller's
    tuple) is left to pydantic.
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        # Not JSON: a ValueError, which pydantic reports as this setting's error.
        items: list[object] = json.loads(text)
        return tuple(str(item).strip() for item in items if str(item).strip())
    return tuple(part.strip() for part in text.split(",") if part.strip())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()
