"""OAuth2 settings: which providers are on, their endpoints, the public URL for redirects."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from postroom.config import Settings
from postroom.enums import OAuthProvider
from postroom.services.oauth import configured_providers


def test_a_provider_is_on_only_with_a_client_id() -> None:
    assert configured_providers(Settings()) == {}
    configs = configured_providers(Settings(microsoft_client_id="ms-app"))
    assert list(configs) == [OAuthProvider.MICROSOFT]
    microsoft = configs[OAuthProvider.MICROSOFT]
    assert microsoft.client_secret is None  # a public client: PKCE only
    assert microsoft.token_url == "https://login.microsoftonline.com/common/oauth2/v2.0/token"


def test_sovereign_cloud_overrides() -> None:
    settings = Settings(
        microsoft_client_id="ms-app",
        microsoft_client_secret="s3cr3t",  # type: ignore[arg-type]
        microsoft_tenant="contoso.onmicrosoft.us",
        microsoft_authorize_url="https://login.microsoftonline.us/{tenant}/oauth2/v2.0/authorize/",
        microsoft_scopes="https://outlook.office365.us/SMTP.Send offline_access",
    )
    config = configured_providers(settings)[OAuthProvider.MICROSOFT]
    assert config.authorize_url == (
        "https://login.microsoftonline.us/contoso.onmicrosoft.us/oauth2/v2.0/authorize"
    )
    assert config.scopes == ("https://outlook.office365.us/SMTP.Send", "offline_access")
    assert config.client_secret is not None
    assert config.client_secret.reveal() == "s3cr3t"


def test_public_url_defaults_to_the_listening_address_and_loses_a_trailing_slash() -> None:
    assert Settings(host="0.0.0.0", port=9000).effective_public_url == "http://0.0.0.0:9000"
    public = Settings(public_url="https://poczta.example.com/postroom/")
    assert public.effective_public_url == "https://poczta.example.com/postroom"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("public_url", "poczta.example.com"),
        ("google_token_url", "ftp://tokens.example"),
        ("microsoft_tenant", "../../evil"),
    ],
)
def test_malformed_oauth_settings_stop_start_up(field: str, value: str) -> None:
    with pytest.raises(ValidationError):
        Settings(**{field: value})  # type: ignore[arg-type]
