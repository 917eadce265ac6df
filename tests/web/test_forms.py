"""Form parsing and the translation catalogues, without a server or a browser."""

from __future__ import annotations

import ast
import json
import re
from importlib import resources
from pathlib import Path

import pydantic
import pytest
from starlette.datastructures import FormData

from postroom.api.routes.oauth import CALLBACK_PATH
from postroom.autoconfig import guess, ispconfig, srv
from postroom.autoconfig.presets import bundled_presets
from postroom.enums import Language
from postroom.mail.report import Advice, StepName
from postroom.services import client_notify_channels
from postroom.services.account_schemas import AccountCreate, AccountOptionsUpdate, AccountUpdate
from postroom.web.clients_view import SKIP_REASONS
from postroom.web.discovery_view import SOURCE_ADVICE, translate_advice
from postroom.web.forms import parse_account_form, submitted_values
from postroom.web.i18n import Translator
from postroom.web.rendering import duration, linkify
from postroom.web.report_view import ADVICE, STEP_LABELS
from postroom.web.routes_account_setup import OAUTH_CALLBACK_PATH
from postroom.web.routes_accounts import parse_bulk_options

WEB = Path(resources.files("postroom.web"))  # type: ignore[arg-type]
BASE = {
    "csrf_token": "t",
    "email_address": "biuro@alfa.example.test",
    "smtp_host": "smtp.alfa.example.test",
    "smtp_port": "587",
    "fetch_interval_minutes": "5",
    "owner_user_id": "company",
}


def form(pairs: dict[str, str] | list[tuple[str, str]]) -> FormData:
    return FormData(list(pairs.items()) if isinstance(pairs, dict) else pairs)


def test_a_full_form_becomes_a_valid_account_create() -> None:
    data = parse_account_form(
        form([*BASE.items(), ("notifications", "on"), ("project_ids", "3"), ("project_ids", "4")]),
        with_owner=True,
        new=True,
    )
    created = AccountCreate.model_validate(data)
    assert created.owner_user_id is None  # "company"
    assert created.notifications is True
    assert created.create_tasks is False  # an unticked checkbox is not sent by browsers
    assert created.project_ids == [3, 4]
    assert "csrf_token" not in data


def test_blank_optional_fields_mean_none() -> None:
    data = parse_account_form(
        form({**BASE, "smtp_port": "", "reply_to": " ", "fetch_since": ""}),
        with_owner=True,
        new=True,
    )
    assert data["smtp_port"] is None
    assert data["reply_to"] is None
    assert data["fetch_since"] is None


def test_an_empty_password_is_left_out_so_the_stored_one_stays() -> None:
    data = parse_account_form(form({**BASE, "smtp_password": ""}), with_owner=True, new=False)
    assert "smtp_password" not in data
    update = AccountUpdate.model_validate(data)
    assert "smtp_password" not in update.model_dump(exclude_unset=True)


def test_the_clear_checkbox_sends_null_and_a_typed_password_is_sent() -> None:
    data = parse_account_form(
        form({**BASE, "clear_smtp_password": "on", "incoming_password": "nowe-haslo"}),
        with_owner=True,
        new=False,
    )
    assert data["smtp_password"] is None
    assert data["incoming_password"] == "nowe-haslo"


def test_without_owner_the_owner_is_not_sent() -> None:
    data = parse_account_form(form({**BASE, "owner_user_id": "7"}), with_owner=False, new=False)
    assert "owner_user_id" not in data


def test_a_port_out_of_range_is_refused_by_the_schema() -> None:
    data = parse_account_form(form({**BASE, "smtp_port": "70000"}), with_owner=True, new=True)
    with pytest.raises(pydantic.ValidationError) as caught:
        AccountCreate.model_validate(data)
    assert [e["loc"][0] for e in caught.value.errors()] == ["smtp_port"]


def test_submitted_values_never_keep_a_password() -> None:
    values = submitted_values(form({**BASE, "smtp_password": "Skrzynka-Tajne-5521-smtp"}))
    assert "smtp_password" not in values
    assert values["smtp_host"] == "smtp.alfa.example.test"


def test_bulk_options_take_only_what_was_changed() -> None:
    data = parse_bulk_options(
        form(
            {
                "bulk_notifications": "off",
                "bulk_active": "",
                "bulk_fetch_interval_minutes": "15",
                "bulk_sent_folder": "",
                "bulk_clear_drafts_folder": "on",
            }
        )
    )
    assert data == {"notifications": False, "fetch_interval_minutes": "15", "drafts_folder": None}
    options = AccountOptionsUpdate.model_validate(data)
    assert options.model_dump(exclude_unset=True) == {
        "notifications": False,
        "fetch_interval_minutes": 15,
        "drafts_folder": None,
    }


def test_bulk_with_nothing_chosen_changes_nothing() -> None:
    assert parse_bulk_options(form({"bulk_active": "", "bulk_fetch_since": ""})) == {}


_TRANSLATING = {"N_", "translate", "_"}


def _python_messages(source: str) -> set[str]:
    """First arguments of N_("…"), translate("…") and _("…") calls that are string literals."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else None
        first = node.args[0]
        if name in _TRANSLATING and isinstance(first, ast.Constant):
            found.add(str(first.value))
    return found


def _used_messages() -> set[str]:
    """Every string the UI translates: _("…") in templates, N_/translate/_("…") in Python, and
    the presets' advice, which the wizard shows translated by its English text."""
    used: set[str] = set()
    for template in (WEB / "templates").glob("*.html"):
        used |= {m[1] for m in re.findall(r"""_\(\s*(["'])(.+?)\1""", template.read_text())}
    for module in WEB.glob("*.py"):
        used |= _python_messages(module.read_text())
    used |= {preset.advice for preset in bundled_presets() if preset.advice}
    return used


@pytest.mark.parametrize("language", ["pl", "en"])
def test_every_message_has_a_translation_and_none_is_stale(language: str) -> None:
    catalogue = json.loads((WEB / "translations" / f"{language}.json").read_text())
    used = _used_messages()
    assert len(used) > 100  # the search itself works
    assert sorted(used - catalogue.keys()) == []
    assert sorted(catalogue.keys() - used) == []
    if language == "pl":
        untranslated = [k for k, v in catalogue.items() if v == k and len(k) > 12]
        assert untranslated == []


def test_every_step_and_every_advice_has_words_in_the_ui() -> None:
    assert set(STEP_LABELS) == set(StepName)
    assert set(ADVICE) == set(Advice)


def test_the_sources_fixed_advice_is_the_text_the_ui_translates() -> None:
    # The wizard translates the lookup sources' advice by its English text: the same text.
    assert set(SOURCE_ADVICE) == {
        guess._ADVICE,
        srv._LOGIN_ADVICE,
        ispconfig._PLAIN_HTTP_ADVICE,
        ispconfig._UNENCRYPTED_ADVICE,
    }


def test_foreign_srv_advice_is_translated_with_its_names() -> None:
    text = (
        "The DNS records of firma.pl point to mail.example.net: check that this is your "
        "provider's server before entering a password."
    )
    translated = translate_advice(text, Translator(Language.PL))
    assert translated.startswith("Rekordy DNS domeny firma.pl wskazują na mail.example.net:")
    assert translate_advice("Something new.", Translator(Language.PL)) == "Something new."


def test_the_oauth_callback_is_the_apis() -> None:
    assert OAUTH_CALLBACK_PATH == CALLBACK_PATH


@pytest.mark.parametrize(
    ("milliseconds", "language", "shown"),
    [(12, "pl", "12 ms"), (999, "en", "999 ms"), (3607, "pl", "3,6 s"), (3607, "en", "3.6 s")],
)
def test_durations_read_as_people_write_them(milliseconds: int, language: str, shown: str) -> None:
    assert duration(milliseconds, language) == shown


def test_only_https_links_in_advice_become_links() -> None:
    html = str(linkify("See https://a.example/x?y=1&z=2. Or <b>http://b.example</b>"))
    assert html == (
        'See <a href="https://a.example/x?y=1&amp;z=2" target="_blank" rel="noopener noreferrer">'
        "https://a.example/x?y=1&amp;z=2</a>. Or &lt;b&gt;http://b.example&lt;/b&gt;"
    )


def test_the_reasons_a_channel_was_skipped_are_the_texts_the_ui_translates() -> None:
    # The client pages translate the history's skip reasons by their English text.
    assert set(SKIP_REASONS) == {
        client_notify_channels.NO_CONTACTS,
        client_notify_channels.NO_EMAIL_SENDER,
        client_notify_channels.SMS_OFF,
        client_notify_channels.NO_PHONE,
        client_notify_channels.NO_SUBSCRIPTION,
    }
