"""OAuth 2 authorization server primitives at FAPI 2.0 grade: keys, JWT tokens, DPoP, PAR, PKCE.

Framework- and database-free; stores sit behind the async Protocols in `puhui.oauth.stores`.
Import from the submodules (`puhui.oauth.dpop`, `puhui.oauth.jwt_tokens`, ...).
"""

__all__: list[str] = []
