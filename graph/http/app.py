"""The FastAPI application: GraphQL (with GraphiQL) at /graphql, /healthz and /readyz."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.datastructures import State
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from graph.core.authentication import authenticate_request
from graph.core.context import Context
from graph.core.errors import RequestRefusedError
from graph.core.read_routing import ReadRouter, Replica
from graph.core.request_database import RequestDatabase
from graph.http.authentication import client_ip
from graph.http.cross_origin import CrossOrigin
from graph.http.endpoint import GraphQLEndpoint
from graph.http.errors import http_error, refused_request
from graph.http.graphiql import ASSETS_DIR, ASSETS_URL_PATH
from graph.http.graphiql_assets import prepare_local_assets
from graph.http.readiness import check_readiness, replica_report
from graph.http.request_size import RequestSizeLimit
from graph.http.websocket import LiveLimits
from graph.live.listener import Listener
from graph.schema import metrics, sql_observation
from graph.schema.consistency import CONSISTENCY_HEADER, header_position
from graph.schema.persisted_queries import PersistedQueries
from graph.schema.query_limits import QueryLimits
from graph.schema.root import schema
from graph.schema.unavailability import DatabaseUnavailableError, database_unavailable
from models.auth import PasswordWork
from models.database import (
    create_engine,
    create_probe_engine,
    create_session_factory,
    worker_application_name,
)
from models.login_throttle import ThrottleLimits
from models.replication import ReplicaMonitor, replica_names
from models.settings import Settings, get_settings

READINESS_TIMEOUT_SECONDS = 2.0
# The collector's thresholds (Python's: 700, 10, 10). At 700 new objects a young collection
# ran about 100 times a second under load, each promoting the objects of the requests then
# in flight; what is promoted triggers full collections, which walk every live subscriber's
# objects (about 300 each): with 1,000 idle subscribers in a worker, 360 ms each, every few
# seconds, 11% of its time. At 5,000, most of a request's objects are freed before a young
# collection sees them: no full collection in the same 10 s of load, young ones 20 times
# rarer (about 4 ms each). Higher saves little more and leaves more garbage between
# collections: at 10,000 the workers' RSS grew by 10 KB more per subscriber connected.
# bench/subscriber_memory.py --wrk --gc-threshold compares them.
GC_THRESHOLDS = (5_000, 10, 10)


@asynccontextmanager
async def open_request_database(request: HTTPConnection) -> AsyncIterator[RequestDatabase]:
    """One session per request; drained of running statements, then closed, at its end.

    `app.state.open_request_database` names it; tests put the test's session there instead.
    """
    state = request.app.state
    factory: async_sessionmaker[AsyncSession] = state.session_factory
    router: ReadRouter | None = state.read_router
    async with factory() as session:
        db = (
            RequestDatabase(session)
            if router is None
            else RequestDatabase(
                session, router=router, read_after=header_position(request.headers)
            )
        )
        try:
            yield db
        finally:
            await db.finish()


@asynccontextmanager
async def open_context(request: Request) -> AsyncIterator[Context]:
    """The GraphQL context: the request's session and the viewer its token names."""
    state = request.app.state
    async with state.open_request_database(request) as db:
        try:
            authentication = await authenticate_request(db, request.headers.get("authorization"))
        except Exception as error:
            if database_unavailable(error):
                raise DatabaseUnavailableError from error
            raise
        yield Context(
            db=db,
            viewer=authentication.viewer,
            auth_failure=authentication.failure,
            ip_address=client_ip(request.client.host if request.client else None),
            user_agent=request.headers.get("user-agent"),
            probe_engine=state.probe_engine,
            compiled_reads=state.compiled_reads,
        )


def start_read_router(settings: Settings) -> ReadRouter | None:
    """The replicas' pools and their monitor (polling from now on); None without replicas."""
    if not settings.database_replica_urls:
        return None
    names = replica_names(settings.replica_libpq_urls)
    replicas = []
    for name, url in zip(names, settings.database_replica_urls, strict=True):
        engine = create_engine(
            settings,
            application_name=worker_application_name(settings, role="replica"),
            replica_url=str(url),
        )
        sql_observation.install(engine, slow_statement_ms=settings.slow_statement_ms)
        sessions = create_session_factory(engine, autocommit_reads=not settings.db_pgbouncer)
        replicas.append(Replica(name=name, engine=engine, sessions=sessions))
    monitor = ReplicaMonitor(
        primary_dsn=settings.libpq_url,
        replica_dsns=dict(zip(names, settings.replica_libpq_urls, strict=True)),
        interval=settings.replica_poll_interval_seconds,
        timeout=settings.replica_timeout_seconds,
        max_lag_seconds=settings.replica_max_lag_seconds,
        application_name=worker_application_name(settings, role="replication"),
    )
    monitor.start()
    return ReadRouter(replicas, monitor)


async def close_read_router(router: ReadRouter | None) -> None:
    """Stop the replicas' monitor and close their pools, if there are replicas."""
    if router is not None:
        await router.close()


def _register_metrics(engine: AsyncEngine, router: ReadRouter | None) -> list[Collector]:
    """The pools' gauges (the primary's, each replica's) and the replicas' lag and rotation."""
    if router is None:
        return [metrics.register_pool({"primary": engine})]
    engines = {"primary": engine} | {replica.name: replica.engine for replica in router.replicas}
    return [metrics.register_pool(engines), metrics.register_replication(router.monitor)]


async def _readiness_response(state: State) -> JSONResponse:
    """Ready while the primary is, whatever the replicas' state (reads fall back on it)."""
    engine: AsyncEngine = state.probe_engine
    readiness = await check_readiness(engine, timeout_seconds=READINESS_TIMEOUT_SECONDS)
    router: ReadRouter | None = state.read_router
    replicas = {"replicas": replica_report(router.monitor)} if router is not None else {}
    if readiness.ready:
        return JSONResponse({"status": "ready", **replicas})
    return JSONResponse(
        {"status": "unavailable", "reason": readiness.reason, **replicas}, status_code=503
    )


class Application(FastAPI):
    """FastAPI, with /graphql's requests handed straight to their endpoint.

    A websocket's ASGI call lasts as long as its connection: through the middlewares and the
    router, each idle subscriber kept their coroutines and state (about 6 KB), and the
    middlewares act on HTTP alone (errors, telemetry, body and size limits, CORS, FastAPI's
    exit stack). HTTP requests to /graphql go through `graphql_http`: the endpoint inside
    our own edges (the size limit, CORS), without FastAPI's exception, telemetry and
    routing layers, which cost about a twentieth of a small read's CPU (py-spy, Viewer) and
    do nothing for it (the endpoint answers every refusal itself). Everything else goes the
    usual way.
    """

    live_endpoint: ASGIApp | None = None
    graphql_http: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve /graphql with its endpoint; anything else as FastAPI does."""
        kind = scope["type"]
        if kind in {"http", "websocket"} and _route_path(scope) == "/graphql":
            endpoint = self.graphql_http if kind == "http" else self.live_endpoint
            if endpoint is not None:
                scope["app"] = self  # what Starlette sets: the endpoint reads the app's state
                await endpoint(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


# A middleware class and its options. Any: Starlette types a factory by its exact keywords,
# and these differ per class.
Edge = tuple[Any, dict[str, Any]]


def _http_edges(settings: Settings) -> list[Edge]:
    """The middlewares every HTTP request passes, innermost first (as `add_middleware` stacks).

    The request size and time limits, then, outermost when origins are configured, CORS
    (graph/http/cross_origin.py): it answers the browsers' preflight OPTIONS (which /graphql
    refuses otherwise) and adds its headers to every answer, the limits' refusals (413, 431,
    408) included, so that a page on an allowed origin can read why it was refused.
    """
    limits = {
        "max_bytes": settings.max_request_bytes,
        "max_header_bytes": settings.max_header_bytes,
        "body_timeout_seconds": settings.request_body_timeout_seconds,
    }
    edges: list[Edge] = [(RequestSizeLimit, limits)]
    if settings.cors_allowed_origins:
        cors = {
            "allow_origins": list(settings.cors_allowed_origins),
            "allow_methods": ["GET", "POST"],
            "allow_headers": [
                "Authorization",
                "Content-Type",
                "Accept",
                "If-None-Match",
                CONSISTENCY_HEADER,
            ],
            "expose_headers": ["ETag", "Retry-After", CONSISTENCY_HEADER],
            "max_age": 600,
        }
        edges.append((CrossOrigin, cors))
    return edges


def _wrapped(app: ASGIApp, edges: list[Edge]) -> ASGIApp:
    """`app` inside `edges`, the first innermost."""
    for middleware, options in edges:
        app = middleware(app, **options)
    return app


def _route_path(scope: Scope) -> str:
    """The path below the app's mount point (`root_path`), as Starlette's router matches it."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    return path.removeprefix(root_path) if root_path else path


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application; the engine is made at startup and disposed at shutdown."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        sql_observation.install(engine, slow_statement_ms=settings.slow_statement_ms)
        router = start_read_router(settings)
        app.state.read_router = router
        collectors = _register_metrics(engine, router)
        app.state.engine = engine
        app.state.probe_engine = create_probe_engine(settings)
        app.state.session_factory = create_session_factory(
            engine, autocommit_reads=not settings.db_pgbouncer
        )
        # Read by graph/entities/user/account.py: sign-in limits and this process's argon2 pool.
        app.state.login_limits = ThrottleLimits.from_settings(settings)
        app.state.password_work = PasswordWork(
            max_concurrent=settings.password_hash_threads,
            max_waiting=settings.password_hash_max_waiting,
        )
        # Subscriptions' LISTEN connection: made in the worker (after the fork), started by
        # the first subscriber (graph/live/listener.py).
        app.state.listener = Listener(
            settings.listen_libpq_url,
            application_name=worker_application_name(settings, role="listen"),
            queue_size=settings.live_queue_size,
            track_position=bool(settings.database_replica_urls),
        )
        # Everything loaded so far (the schema, SQLAlchemy's mappers, graphql-core's types)
        # lives as long as the process: out of the collector's sight, a full collection no
        # longer walks it, and requests stop waiting on those pauses. Garbage is collected
        # first, or it would be frozen with them and never freed (about 90 ms, once: later
        # apps of the same process, as in the tests, find most of the heap frozen already).
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        try:
            yield
        finally:
            await app.state.listener.close()
            app.state.password_work.close()
            for collector in collectors:
                metrics.unregister_pool(collector)
            await app.state.probe_engine.dispose()
            await close_read_router(router)
            await engine.dispose()

    app = Application(
        title="Sartiq Graph",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    if settings.graphiql:
        # However the server was started (`sartiq dev`, uvicorn by hand), GraphiQL's files are
        # fetched now if the bootstrap did not, before the endpoint decides where they load from.
        prepare_local_assets(ASSETS_DIR)
    graphql = GraphQLEndpoint(
        schema,
        open_context=open_context,
        graphql_ide="graphiql" if settings.graphiql else None,
        persisted_queries=PersistedQueries.from_settings(settings),
        cache_max_age_seconds=settings.http_cache_max_age_seconds,
        live_limits=LiveLimits(
            max_connections=settings.live_max_connections_per_worker,
            max_subscriptions=settings.live_max_subscriptions_per_connection,
            init_timeout_seconds=settings.live_connection_init_timeout_seconds,
            max_window_days=settings.live_max_window_days,
        ),
        open_database=open_request_database,
        allowed_origins=settings.cors_allowed_origins,
    )
    app.state.open_request_database = open_request_database
    app.state.read_router = None  # the lifespan starts it when there are replicas
    app.state.compiled_reads = settings.fast_path
    # Read by graph/schema/query_limits.py for every operation this app serves.
    app.state.query_limits = QueryLimits.from_settings(settings)
    # The same edges around every HTTP route, and around /graphql's direct path (`Application`).
    for middleware, options in _http_edges(settings):
        app.add_middleware(middleware, **options)
    app.add_exception_handler(RequestRefusedError, refused_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    # An ASGI app on a plain route: every method reaches it (it refuses all but GET and POST).
    app.router.routes.append(Route("/graphql", graphql))
    # The same endpoint, reached without FastAPI's layers (`Application`): websockets
    # (subscriptions, graph/live/) bare, HTTP inside our edges.
    app.live_endpoint = graphql
    app.graphql_http = _wrapped(graphql, _http_edges(settings))
    if graphql.serves_local_assets:
        assets = StaticFiles(directory=graphql.assets_dir)
        app.mount(ASSETS_URL_PATH, assets, name="graphiql-assets")

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint() -> Response:
        """Prometheus metrics: of every worker with PROMETHEUS_MULTIPROC_DIR, else this one's."""
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """The process is up and serving HTTP."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        """The primary answers and is migrated to head; 503 otherwise. Replicas are listed."""
        return await _readiness_response(request.app.state)

    return app


app = create_app()
