"""mail/oauth.py against the local OAuth server: PKCE, the code exchange, refresh and errors."""

from __future__ import annotations

import json
import re
import socket
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from postroom.enums import OAuthProvider
from postroom.mail.oauth import (
    MICROSOFT_SCOPES,
    OAuthClientConfig,
    OAuthNetworkError,
    OAuthProtocolError,
    RefreshRejectedError,
    TokenRequestError,
    TokenSet,
    authorization_url,
    exchange_code,
    new_pkce,
    provider_config,
    refresh_access_token,
    s256_challenge,
)
from postroom.secrets import Secret
from tests.fixtures.oauth_server import FakeOAuthServer

REDIRECT = "http://testserver/api/v1/oauth/callback"


def _config(server: FakeOAuthServer, *, secret: str | None = None) -> OAuthClientConfig:
    return provider_config(
        OAuthProvider.GOOGLE,
        client_id=server.client_id,
        client_secret=Secret(secret or server.client_secret),
        authorize_url=server.authorize_url,
        token_url=server.token_url,
    )


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


async def _grant(server: FakeOAuthServer, http: httpx.AsyncClient) -> TokenSet:
    """Walk the browser part, then exchange the code as Postroom does."""
    config, pkce = _config(server), new_pkce()
    url = authorization_url(
        config,
        redirect_uri=REDIRECT,
        state="st-1",
        code_challenge=pkce.challenge,
        login_hint="dana@example.test",
    )
    back = (await http.get(url)).headers["location"]
    assert _query(back)["state"] == "st-1"
    return await exchange_code(
        http, config, code=_query(back)["code"], redirect_uri=REDIRECT, code_verifier=pkce.verifier
    )


def test_s256_challenge_matches_the_rfc_7636_example() -> None:
    # RFC 7636 Appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert s256_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_new_pkce_verifier_is_long_random_and_unreserved() -> None:
    first, second = new_pkce(), new_pkce()
    verifier = first.verifier.reveal()
    assert re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", verifier)  # RFC 7636 §4.1
    assert first.verifier != second.verifier
    assert first.challenge == s256_challenge(verifier)
    assert verifier not in repr(first)


def test_google_authorization_url_asks_for_code_with_pkce_and_offline_access() -> None:
    config = provider_config(OAuthProvider.GOOGLE, client_id="cid", client_secret=None)
    url = authorization_url(
        config, redirect_uri=REDIRECT, state="s", code_challenge="ch", login_hint="a@b.test"
    )
    assert url.startswith("https://accounts.google.com/o/oauth2/v2/auth?")
    assert _query(url) == {
        "response_type": "code",
        "client_id": "cid",
        "redirect_uri": REDIRECT,
        "scope": "https://mail.google.com/",
        "state": "s",
        "code_challenge": "ch",
        "code_challenge_method": "S256",
        "access_type": "offline",
        "prompt": "consent",
        "login_hint": "a@b.test",
    }
    assert config.token_url == "https://oauth2.googleapis.com/token"


def test_microsoft_uses_the_tenant_and_the_outlook_mail_scopes() -> None:
    config = provider_config(
        OAuthProvider.MICROSOFT, client_id="cid", client_secret=None, tenant="contoso.example"
    )
    assert config.authorize_url == (
        "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/authorize"
    )
    assert config.token_url == "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token"
    url = authorization_url(config, redirect_uri=REDIRECT, state="s", code_challenge="c")
    assert _query(url)["scope"].split() == [
        "https://outlook.office.com/IMAP.AccessAsUser.All",
        "https://outlook.office.com/POP.AccessAsUser.All",
        "https://outlook.office.com/SMTP.Send",
        "offline_access",
    ]
    assert "access_type" not in _query(url)
    assert MICROSOFT_SCOPES[-1] == "offline_access"


def test_overrides_replace_endpoints_and_scopes() -> None:
    config = provider_config(
        OAuthProvider.MICROSOFT,
        client_id="cid",
        client_secret=None,
        tenant="t1",
        authorize_url="https://login.microsoftonline.us/{tenant}/oauth2/v2.0/authorize",
        token_url="https://login.microsoftonline.us/{tenant}/oauth2/v2.0/token",
        scopes=("https://outlook.office365.us/IMAP.AccessAsUser.All", "offline_access"),
    )
    assert config.authorize_url == "https://login.microsoftonline.us/t1/oauth2/v2.0/authorize"
    assert config.token_url == "https://login.microsoftonline.us/t1/oauth2/v2.0/token"
    assert config.scopes[0] == "https://outlook.office365.us/IMAP.AccessAsUser.All"


async def test_code_exchange_then_refresh_with_rotation(oauth_server: FakeOAuthServer) -> None:
    async with httpx.AsyncClient() as http:
        first = await _grant(oauth_server, http)
        assert first.refresh_token is not None
        assert first.expires_in == 3600
        again = await refresh_access_token(
            http, _config(oauth_server), refresh_token=first.refresh_token
        )
        assert again.access_token != first.access_token
        assert again.refresh_token is not None  # the server rotates
        assert again.refresh_token != first.refresh_token
        with pytest.raises(RefreshRejectedError):  # the old one was discarded (RFC 6749 §6)
            await refresh_access_token(
                http, _config(oauth_server), refresh_token=first.refresh_token
            )
    assert oauth_server.token_requests() == [
        "authorization_code",
        "refresh_token",
        "refresh_token",
    ]


async def test_wrong_code_verifier_is_refused_by_the_server(
    oauth_server: FakeOAuthServer,
) -> None:
    config, pkce = _config(oauth_server), new_pkce()
    url = authorization_url(config, redirect_uri=REDIRECT, state="s", code_challenge=pkce.challenge)
    async with httpx.AsyncClient() as http:
        code = _query((await http.get(url)).headers["location"])["code"]
        with pytest.raises(TokenRequestError) as caught:
            await exchange_code(
                http, config, code=code, redirect_uri=REDIRECT, code_verifier=new_pkce().verifier
            )
    assert caught.value.error == "invalid_grant"
    assert not isinstance(caught.value, RefreshRejectedError)


async def test_revoked_refresh_token_means_reconnect(oauth_server: FakeOAuthServer) -> None:
    async with httpx.AsyncClient() as http:
        tokens = await _grant(oauth_server, http)
        assert oauth_server.revoke_refresh_tokens("dana@example.test") >= 1
        assert tokens.refresh_token is not None
        with pytest.raises(RefreshRejectedError) as caught:
            await refresh_access_token(
                http, _config(oauth_server), refresh_token=tokens.refresh_token
            )
    assert caught.value.error == "invalid_grant"
    assert "Token has been expired or revoked." in caught.value.message
    assert "sign in again" in caught.value.message


async def test_wrong_client_secret_is_not_a_reconnect(oauth_server: FakeOAuthServer) -> None:
    async with httpx.AsyncClient() as http:
        tokens = await _grant(oauth_server, http)
        assert tokens.refresh_token is not None
        with pytest.raises(TokenRequestError) as caught:
            await refresh_access_token(
                http,
                _config(oauth_server, secret="not-the-secret"),
                refresh_token=tokens.refresh_token,
            )
    assert caught.value.error == "invalid_client"
    assert not isinstance(caught.value, RefreshRejectedError)


async def test_unreachable_token_endpoint_is_a_network_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    config = provider_config(
        OAuthProvider.GOOGLE,
        client_id="cid",
        client_secret=None,
        token_url=f"http://127.0.0.1:{port}/token",
    )
    async with httpx.AsyncClient() as http:
        with pytest.raises(OAuthNetworkError) as caught:
            await refresh_access_token(http, config, refresh_token=Secret("r"))
    assert isinstance(caught.value, ConnectionError)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (503, b"busy", OAuthNetworkError),
        (429, b"{}", OAuthNetworkError),
        (200, b"<html>sign in</html>", OAuthProtocolError),
        (200, b"[]", OAuthProtocolError),
        (200, json.dumps({"token_type": "Bearer"}).encode(), OAuthProtocolError),
        (200, json.dumps({"access_token": "x", "token_type": "mac"}).encode(), OAuthProtocolError),
        (400, json.dumps({"message": "no"}).encode(), OAuthProtocolError),
        (400, json.dumps({"error": "invalid_scope"}).encode(), TokenRequestError),
    ],
)
async def test_malformed_or_failing_answers_have_their_own_errors(
    oauth_server: FakeOAuthServer, status: int, body: bytes, expected: type[Exception]
) -> None:
    oauth_server.answer_next_token_request(status, body)
    async with httpx.AsyncClient() as http:
        with pytest.raises(expected) as caught:
            await refresh_access_token(http, _config(oauth_server), refresh_token=Secret("r"))
    assert not isinstance(caught.value, RefreshRejectedError)


@pytest.mark.parametrize(("expires_in", "expected"), [(None, None), ("1800", 1800), (59.9, 59)])
async def test_expires_in_is_optional_and_read_leniently(
    oauth_server: FakeOAuthServer, expires_in: object, expected: int | None
) -> None:
    body: dict[str, object] = {"access_token": "at-x", "token_type": "bearer"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    oauth_server.answer_next_token_request(200, json.dumps(body).encode())
    async with httpx.AsyncClient() as http:
        tokens = await refresh_access_token(http, _config(oauth_server), refresh_token=Secret("r"))
    assert tokens.expires_in == expected
    assert tokens.refresh_token is None  # not rotated: the old one stays in use
    assert "at-x" not in repr(tokens)
