"""Fixtures of the probe tests: options for the local servers, a private CA with certificates."""

from __future__ import annotations

import pytest

from postroom.mail.probe_common import ProbeOptions
from tests.fixtures.mailenv import MailEnv
from tests.mail.support import TestCertificates, make_certificates, options


@pytest.fixture
def local(mailenv: MailEnv) -> ProbeOptions:
    """Loopback allowed, the mailenv CA trusted, a 10 s limit."""
    return options(mailenv.ca_file)


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> TestCertificates:
    return make_certificates(tmp_path_factory.mktemp("certificates"))
