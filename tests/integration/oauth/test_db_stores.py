"""The database-shared OAuth stores (several workers, no Redis): single use across workers."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from litestar import Litestar

from puhui.clock import utcnow
from puhui.config import Settings
from puhui.db.engine import create_engine
from puhui.db.session import SessionFactory
from puhui.oauth.db_stores import (
    DatabasePushedRequestStore,
    DatabaseReplayCache,
    DatabaseRevocationList,
    purge_expired,
)
from puhui.oauth.par import AuthorizationRequest, PushedAuthorizationRequest
from puhui.oauth.runtime import OAuthRuntime

pytestmark = pytest.mark.anyio


@pytest.fixture
async def other_worker(settings: Settings) -> SessionFactory:
    """A second process's view of the same database: its own engine and sessions."""
    engine = create_engine(settings)
    yield SessionFactory(engine)  # type: ignore[misc]
    await engine.dispose()


def _pushed(uri: str, lifetime: timedelta = timedelta(seconds=90)) -> PushedAuthorizationRequest:
    now = utcnow()
    return PushedAuthorizationRequest(
        request_uri=uri,
        request=AuthorizationRequest(
            client_id="ph_db_store",
            redirect_uri="https://partner.example/cb",
            scope=frozenset({"accounts.read"}),
            state="st",
            code_challenge="x" * 43,
            code_challenge_method="S256",
        ),
        created_at=now,
        expires_at=now + lifetime,
    )


async def test_a_jti_is_remembered_once_across_workers(
    app: Litestar, other_worker: SessionFactory
) -> None:
    here, there = DatabaseReplayCache(app.state.db), DatabaseReplayCache(other_worker)
    jti = secrets.token_urlsafe(16)
    until = utcnow() + timedelta(seconds=60)
    assert await here.remember(jti, until) is True
    assert await there.remember(jti, until) is False
    assert await here.remember(jti, until) is False


async def test_an_expired_jti_may_be_remembered_again(app: Litestar) -> None:
    cache = DatabaseReplayCache(app.state.db)
    jti = secrets.token_urlsafe(16)
    assert await cache.remember(jti, utcnow() + timedelta(milliseconds=1))
    assert await cache.remember(jti, utcnow() - timedelta(seconds=1))  # already outside
    assert await purge_expired(app.state.db) >= 0
    assert await cache.remember(jti, utcnow() + timedelta(seconds=30))


async def test_a_pushed_request_is_taken_once_by_any_worker(
    app: Litestar, other_worker: SessionFactory
) -> None:
    uri = "urn:ietf:params:oauth:request_uri:" + secrets.token_urlsafe(16)
    await DatabasePushedRequestStore(app.state.db).put(_pushed(uri))
    taken = await DatabasePushedRequestStore(other_worker).take(uri)
    assert taken is not None
    assert taken.request.scope == frozenset({"accounts.read"})
    assert await DatabasePushedRequestStore(app.state.db).take(uri) is None


async def test_an_expired_pushed_request_is_not_returned(app: Litestar) -> None:
    uri = "urn:ietf:params:oauth:request_uri:" + secrets.token_urlsafe(16)
    store = DatabasePushedRequestStore(app.state.db)
    await store.put(_pushed(uri, lifetime=timedelta(seconds=-1)))
    assert await store.take(uri) is None


async def test_revocations_are_seen_by_every_worker(
    app: Litestar, other_worker: SessionFactory
) -> None:
    here, there = DatabaseRevocationList(app.state.db), DatabaseRevocationList(other_worker)
    jti, client_id = secrets.token_urlsafe(12), "ph_" + secrets.token_urlsafe(8)
    assert not await there.is_revoked(jti, client_id)
    await here.revoke(jti, utcnow() + timedelta(seconds=60))
    assert await there.is_revoked(jti)
    other_jti = secrets.token_urlsafe(12)
    assert not await there.is_revoked(other_jti, client_id)
    await here.revoke_client(client_id)
    assert await there.is_revoked(other_jti, client_id)
    assert not await there.is_revoked(other_jti)


def test_the_runtime_uses_the_database_only_for_several_workers_without_redis(
    app: Litestar, settings: Settings
) -> None:
    import msgspec

    many = msgspec.structs.replace(settings, workers=2)
    shared = OAuthRuntime.build(many, None, app.state.db)
    assert isinstance(shared.pushed, DatabasePushedRequestStore)
    single = OAuthRuntime.build(settings, None, app.state.db)
    assert not isinstance(single.pushed, DatabasePushedRequestStore)
