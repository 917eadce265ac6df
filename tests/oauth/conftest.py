"""OAuth2 tests: Postroom configured with the local OAuth server as its "Google"."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from postroom.config import Settings
from tests.fixtures.mailenv import MailEnv
from tests.fixtures.oauth_server import FakeOAuthServer
from tests.support import MAILBOX_PASSWORD

OAUTH_USER = "dana@example.test"


@pytest.fixture
def settings(settings: Settings, oauth_server: FakeOAuthServer) -> Settings:
    return settings.model_copy(
        update={
            "public_url": "http://testserver",  # the TestClient's host
            "google_client_id": oauth_server.client_id,
            "google_client_secret": SecretStr(oauth_server.client_secret),
            "google_authorize_url": oauth_server.authorize_url,
            "google_token_url": oauth_server.token_url,
        }
    )


@pytest.fixture(scope="session")
def oauth_mailbox(mailenv: MailEnv) -> str:
    """A Dovecot mailbox for XOAUTH2; its password serves until an account is connected."""
    if mailenv.users.get(OAUTH_USER) != MAILBOX_PASSWORD:
        mailenv.add_user(OAUTH_USER, MAILBOX_PASSWORD)
    return OAUTH_USER
