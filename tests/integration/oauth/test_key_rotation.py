"""`puhui keys rotate`: new tokens use the promoted key; tokens already issued keep working."""

from __future__ import annotations

from pathlib import Path

import anyio
import jwt
import pytest
from click.testing import CliRunner
from litestar import Litestar
from tests.builders import create_tenant
from tests.conftest import http_client, make_settings
from tests.oauth_builders import DPoPAuth, EcKey, create_client, token_with_dpop

from puhui.app import create_app
from puhui.cli import main
from puhui.config import Settings

pytestmark = pytest.mark.anyio


async def test_rotation_keeps_unexpired_tokens_valid(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_dir = tmp_path / "keys"
    app: Litestar = create_app(make_settings(settings.database_url, key_dir=key_dir))
    async with app.lifespan(), http_client(app) as http:
        registered = await create_client(app, await create_tenant(app))
        dpop = EcKey()
        before = (await token_with_dpop(http, registered, dpop)).json()["access_token"]
        jwks_before = {k["kid"] for k in (await http.get("/jwks.json")).json()["keys"]}

        monkeypatch.setenv("PUHUI_KEY_DIR", str(key_dir))
        result = CliRunner().invoke(main, ["keys", "rotate"])
        assert result.exit_code == 0, result.output
        assert "Rotated" in result.output

        await anyio.sleep(1.1)  # workers re-read the key file at most once a second
        after = (await token_with_dpop(http, registered, dpop)).json()["access_token"]
        kid_before = _kid(before)
        kid_after = _kid(after)
        assert kid_before != kid_after
        assert kid_after in jwks_before  # the published "next" key became active
        jwks_after = {k["kid"] for k in (await http.get("/jwks.json")).json()["keys"]}
        assert kid_before in jwks_after  # still published while its tokens live
        for token in (before, after):
            auth = DPoPAuth(token, dpop, signing_key=registered.key)
            response = await http.get("/api/v1/oauth/caller", auth=auth)
            assert response.status_code == 200, response.text


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])
