"""Sign-in throttling and bounded password hashing, through HTTP.

The first tests run on the test's rolled-back session, where `now()` stands still: a window
ends only when a test moves it back. The last ones race real requests through apps on their
own pooled connections, so their rows are committed and deleted again afterwards.
"""

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from models import LoginAttempt, LoginSession, auth
from models.email_address import email_key
from models.login_throttle import attempt_keys
from models.settings import Settings
from tests.factories import make_user
from tests.graph.serving import http_client, served_app

PASSWORD = "correct horse battery"
WRONG = "not the password at all"
ACCOUNT_LIMIT = 3
ADDRESS_LIMIT = 6
LOG_IN = """
mutation LogIn($input: LogInInput!) {
  logIn(input: $input) { token user { email } }
}
"""
CHEAP = "{ __typename }"


@pytest.fixture(autouse=True)
def no_error_logged(caplog):
    caplog.set_level(logging.WARNING)
    yield
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def client_from(app: FastAPI, ip: str) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    return http_client(app, client=(ip, 40000))


@pytest.fixture
async def throttled(test_database, session) -> AsyncIterator[FastAPI]:
    """The app with small limits, on the test's session."""
    settings = Settings(
        database_url=test_database.url,
        login_account_attempts=ACCOUNT_LIMIT,
        login_address_attempts=ADDRESS_LIMIT,
    )
    async with served_app(settings, session) as app:
        yield app


async def log_in(app: FastAPI, email: str, password: str, *, ip: str = "192.0.2.1"):
    async with client_from(app, ip) as http:
        response = await http.post(
            "/graphql",
            json={"query": LOG_IN, "variables": {"input": {"email": email, "password": password}}},
        )
    assert response.headers["content-type"].startswith("application/json")
    return response


def code_of(response: httpx.Response) -> str | None:
    body = response.json()
    return body["errors"][0]["extensions"]["code"] if "errors" in body else None


async def member(session: AsyncSession, email: str = "ada@example.test"):
    return await make_user(session, email=email, password_hash=await auth.hash_password(PASSWORD))


# --- Per account and per address, on the test's session ---------------------------------------


async def test_after_the_limit_even_the_right_password_is_refused(throttled, session):
    await member(session)

    for _ in range(ACCOUNT_LIMIT):
        wrong = await log_in(throttled, "ada@example.test", WRONG)
        assert (wrong.status_code, code_of(wrong)) == (200, "UNAUTHENTICATED")
    refused = await log_in(throttled, "ada@example.test", PASSWORD)

    assert refused.status_code == 200
    body = refused.json()
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "LOGIN_THROTTLED"
    retry_after = error["extensions"]["retryAfter"]
    assert 0 < retry_after <= Settings().login_account_window_seconds
    assert refused.headers["retry-after"] == str(retry_after)
    assert await session.scalar(select(func.count()).select_from(LoginSession)) == 0


async def test_unknown_emails_are_throttled_exactly_like_known_ones(throttled, session):
    await member(session)

    async def answers(email: str, ip: str) -> list[tuple[int, str | None, str]]:
        seen = []
        for _ in range(ACCOUNT_LIMIT + 2):
            response = await log_in(throttled, email, WRONG, ip=ip)
            seen.append(
                (response.status_code, code_of(response), response.json()["errors"][0]["message"])
            )
        return seen

    known = await answers("ada@example.test", "192.0.2.10")
    unknown = await answers("nobody@example.test", "192.0.2.11")

    assert known == unknown
    assert [code for _, code, _ in known] == ["UNAUTHENTICATED"] * ACCOUNT_LIMIT + [
        "LOGIN_THROTTLED"
    ] * 2


async def test_a_successful_log_in_clears_the_accounts_count(throttled, session):
    await member(session)

    for n in range(3):
        ip = f"192.0.2.{n + 20}"  # a fresh address each round: failures do count for it
        for _ in range(ACCOUNT_LIMIT - 1):
            wrong = await log_in(throttled, "ada@example.test", WRONG, ip=ip)
            assert code_of(wrong) == "UNAUTHENTICATED"
        assert code_of(await log_in(throttled, "ada@example.test", PASSWORD, ip=ip)) is None

    assert (
        await session.scalar(
            select(func.count()).select_from(LoginAttempt).where(LoginAttempt.kind == "account")
        )
        == 0
    )


async def test_the_account_limit_holds_from_every_address(throttled, session):
    await member(session)
    for n in range(ACCOUNT_LIMIT):
        await log_in(throttled, "ada@example.test", WRONG, ip=f"198.51.100.{n + 1}")

    elsewhere = await log_in(throttled, "ADA@example.test", PASSWORD, ip="203.0.113.9")

    assert code_of(elsewhere) == "LOGIN_THROTTLED"


@pytest.mark.parametrize(
    ("guesser", "same_network", "other_network"),
    [
        ("192.0.2.50", "192.0.2.50", "192.0.2.51"),
        # IPv6 clients get a /64 each: counted as one.
        ("2001:db8:1:1::1", "2001:db8:1:1:ffff::2", "2001:db8:1:2::1"),
    ],
)
async def test_the_address_limit_covers_every_email(
    throttled, session, guesser, same_network, other_network
):
    await member(session)
    for n in range(ADDRESS_LIMIT):
        response = await log_in(throttled, f"guess-{n}@example.test", WRONG, ip=guesser)
        assert code_of(response) == "UNAUTHENTICATED"

    from_guesser = await log_in(throttled, "ada@example.test", PASSWORD, ip=same_network)
    from_elsewhere = await log_in(throttled, "ada@example.test", PASSWORD, ip=other_network)

    assert code_of(from_guesser) == "LOGIN_THROTTLED"
    assert code_of(from_elsewhere) is None


async def test_successful_log_ins_do_not_use_up_their_address(throttled, session):
    await member(session)

    for _ in range(ADDRESS_LIMIT * 2):
        assert code_of(await log_in(throttled, "ada@example.test", PASSWORD)) is None


async def test_the_refusal_ends_with_the_window(throttled, session):
    await member(session)
    for _ in range(ACCOUNT_LIMIT + 1):
        await log_in(throttled, "ada@example.test", WRONG)
    assert code_of(await log_in(throttled, "ada@example.test", PASSWORD)) == "LOGIN_THROTTLED"

    await session.execute(
        text("UPDATE login_attempts SET window_ends_at = now() - interval '1 second'")
    )

    assert code_of(await log_in(throttled, "ada@example.test", PASSWORD)) is None


async def test_counts_keep_no_typed_email_and_expired_ones_are_deleted(throttled, session):
    await session.execute(
        text(
            "INSERT INTO login_attempts (kind, key, attempts, window_ends_at)"
            " SELECT 'account', md5(n::text), 1, now() - interval '1 minute'"
            " FROM generate_series(1, 150) AS n"
        )
    )

    await log_in(throttled, "secret-guess@example.test", WRONG, ip="192.0.2.77")

    keys = attempt_keys(email_key=email_key("secret-guess@example.test"), ip_address="192.0.2.77")
    rows = (await session.execute(select(LoginAttempt.kind, LoginAttempt.key))).all()
    live = {(kind, key) for kind, key in rows if kind == "address" or key == keys.account}
    assert live == {("account", keys.account), ("address", "192.0.2.77")}
    # A batch of 100 of the 150 expired rows went with the attempt; the rest go with the next.
    assert len(rows) == 2 + 50
    assert all("@" not in key for _, key in rows)


# --- Racing real requests: committed rows, apps on their own pools ----------------------------


@dataclass
class Committed:
    email: str
    user_id: uuid.UUID


@pytest.fixture
async def forget_attempts(engine: AsyncEngine) -> AsyncIterator[None]:
    """Delete the committed attempt counts at the end, so later tests start from none."""
    yield
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM login_attempts"))


@pytest.fixture
async def committed(engine: AsyncEngine) -> AsyncIterator[Committed]:
    email = f"racer-{uuid.uuid4().hex[:8]}@example.test"
    async with AsyncSession(engine, expire_on_commit=False) as setup:
        user = await member(setup, email)
        await setup.commit()
    try:
        yield Committed(email=email, user_id=user.id)
    finally:
        async with engine.begin() as connection:
            await connection.execute(
                text("DELETE FROM sessions WHERE user_id = :id"), {"id": user.id}
            )
            await connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": user.id})
            await connection.execute(
                text("DELETE FROM audit_log WHERE record_id = :id"), {"id": user.id}
            )


async def attempts_of(engine: AsyncEngine, email: str) -> int | None:
    keys = attempt_keys(email_key=email_key(email), ip_address=None)
    async with engine.connect() as connection:
        return await connection.scalar(
            select(LoginAttempt.attempts).where(
                LoginAttempt.kind == "account", LoginAttempt.key == keys.account
            )
        )


@pytest.mark.usefixtures("forget_attempts")
async def test_counts_are_shared_by_every_instance_and_survive_the_failed_log_in(
    test_database, engine, committed
):
    settings = Settings(database_url=test_database.url, login_account_attempts=ACCOUNT_LIMIT)
    # One instance after another (each app registers process-wide pool metrics): what one
    # counted, the next one sees.
    for _ in range(ACCOUNT_LIMIT):
        async with served_app(settings) as instance:
            response = await log_in(instance, committed.email, WRONG, ip="198.51.100.20")
        assert code_of(response) == "UNAUTHENTICATED"
    # Each failure's count was committed, though its request failed.
    assert await attempts_of(engine, committed.email) == ACCOUNT_LIMIT

    async with served_app(settings) as instance:
        refused = await log_in(instance, committed.email, PASSWORD, ip="198.51.100.21")

    assert code_of(refused) == "LOGIN_THROTTLED"
    assert refused.headers["retry-after"] == str(
        refused.json()["errors"][0]["extensions"]["retryAfter"]
    )


@pytest.mark.usefixtures("forget_attempts")
async def test_concurrent_guesses_get_no_more_password_checks_than_the_limit(
    test_database, engine, committed
):
    limit, guessers = 5, 20
    settings = Settings(
        database_url=test_database.url,
        login_account_attempts=limit,
        password_hash_max_waiting=guessers,
    )
    async with served_app(settings) as app:
        responses = await asyncio.gather(
            *(
                log_in(app, committed.email, WRONG, ip=f"198.51.100.{n + 30}")
                for n in range(guessers)
            )
        )

    codes = sorted(str(code_of(response)) for response in responses)
    assert codes == ["LOGIN_THROTTLED"] * (guessers - limit) + ["UNAUTHENTICATED"] * limit
    assert await attempts_of(engine, committed.email) == guessers


@pytest.mark.usefixtures("forget_attempts")
async def test_password_hashing_is_bounded_and_leaves_other_work_alone(test_database):
    threads, waiting, guessers = 2, 2, 12
    settings = Settings(
        database_url=test_database.url,
        password_hash_threads=threads,
        password_hash_max_waiting=waiting,
        login_account_attempts=100,
        login_address_attempts=100,
    )
    default_pool_threads: set[str] = set()
    async with served_app(settings) as app:
        logins = [
            asyncio.create_task(
                log_in(app, f"guess-{n}@example.test", WRONG, ip=f"203.0.113.{n + 1}")
            )
            for n in range(guessers)
        ]
        await asyncio.sleep(0.05)
        async with client_from(app, "192.0.2.200") as http:
            cheap = await http.post("/graphql", json={"query": CHEAP})
            healthz = await http.get("/healthz")
        default_pool_threads.add(await asyncio.to_thread(lambda: threading.current_thread().name))
        still_hashing = sum(not login.done() for login in logins)
        responses = await asyncio.gather(*logins)
        work: auth.PasswordWork = app.state.password_work
        peak = work.peak

    # Cheap requests and the default executor were served while guesses were still hashing.
    assert cheap.json() == {"data": {"__typename": "Query"}}
    assert healthz.status_code == 200
    assert still_hashing > 0
    assert not any(name.startswith("argon2") for name in default_pool_threads)
    # Never more hashes at once than the pool has threads; past the queue, refused at once.
    assert 1 <= peak <= threads
    busy = [response for response in responses if code_of(response) == "SERVICE_UNAVAILABLE"]
    checked = [response for response in responses if code_of(response) == "UNAUTHENTICATED"]
    assert len(busy) + len(checked) == guessers
    assert len(checked) >= threads
    assert busy
    for response in busy:
        assert response.status_code == 503
        assert response.headers["retry-after"] == str(auth.BUSY_RETRY_AFTER_SECONDS)
        assert (
            response.json()["errors"][0]["extensions"]["retryAfter"]
            == auth.BUSY_RETRY_AFTER_SECONDS
        )


async def test_a_full_queue_refuses_at_once_and_frees_its_slots():
    work = auth.PasswordWork(max_concurrent=1, max_waiting=1)
    started = threading.Event()
    release = threading.Event()

    def hold() -> str:
        started.set()
        release.wait(5)
        return "done"

    try:
        running = asyncio.create_task(work.run(hold))
        queued = asyncio.create_task(work.run(lambda: "queued"))
        await asyncio.to_thread(started.wait, 5)
        refused_at = time.perf_counter()
        with pytest.raises(auth.PasswordWorkBusyError):
            await work.run(lambda: "refused")
        assert time.perf_counter() - refused_at < 0.5
        release.set()
        assert await running == "done"
        assert await queued == "queued"
        assert await work.run(lambda: "again") == "again"
        assert work.peak == 1
    finally:
        release.set()
        work.close()
