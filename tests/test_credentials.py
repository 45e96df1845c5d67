"""Where passwords come from, in which order, and that they never print."""

from __future__ import annotations

import copy
import dataclasses
import logging
import pickle

import keyring
import keyring.backend
import keyring.errors
import pytest

from wbplay.errors import AuthenticationError
from wbplay.hosts.credentials import (
    Credentials,
    Secret,
    get_credentials,
    host_env_var,
    needs_password,
)

PASSWORD = "Tr0ub4dor&3-do-not-print"


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A real keyring backend that keeps passwords in a dict."""

    priority = 1  # type: ignore[assignment]

    def __init__(self, entries: dict[tuple[str, str], str] | None = None) -> None:
        super().__init__()
        self.entries = dict(entries or {})
        self.lookups: list[tuple[str, str]] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.lookups.append((service, username))
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


class BrokenKeyring(keyring.backend.KeyringBackend):
    """What a headless Linux box has: no usable backend."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.NoKeyringError("No recommended backend was available.")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("no backend")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.PasswordDeleteError("no backend")


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def broken_keyring():
    previous = keyring.get_keyring()
    keyring.set_keyring(BrokenKeyring())
    yield
    keyring.set_keyring(previous)


def _no_prompt(text: str) -> str:
    raise AssertionError(f"prompted although not interactive: {text}")


# -- Secret ---------------------------------------------------------------------------


def test_secret_never_formats_its_value():
    s = Secret(PASSWORD)
    creds = Credentials("CORP\\admin", s, "test")
    for text in (repr(s), str(s), f"{s}", f"{s!s:>40}", repr(creds), str(creds)):
        assert PASSWORD not in text
    assert "***" in repr(creds)
    assert s.reveal() == PASSWORD


def test_secret_survives_asdict_and_copy_without_exposing_the_value():
    creds = Credentials("admin", Secret(PASSWORD), "test")
    as_dict = dataclasses.asdict(creds)
    assert as_dict["password"] is creds.password
    assert PASSWORD not in repr(as_dict)
    assert copy.deepcopy(creds).password.reveal() == PASSWORD


def test_secret_is_immutable_and_unpicklable():
    s = Secret(PASSWORD)
    with pytest.raises(AttributeError):
        s._value = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        pickle.dumps(s)


def test_secret_in_a_log_record_is_masked(caplog):
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("wbplay.test").info("connecting with %s / %r", Secret(PASSWORD), Secret(PASSWORD))
    assert PASSWORD not in caplog.text
    assert "***" in caplog.text


# -- sources and their order --------------------------------------------------------------


def test_host_env_var_name():
    assert host_env_var("pc42") == "WBPLAY_PASSWORD_PC42"
    assert host_env_var("pc-42.corp.example") == "WBPLAY_PASSWORD_PC_42_CORP_EXAMPLE"
    assert host_env_var("10.0.0.7") == "WBPLAY_PASSWORD_10_0_0_7"


def test_per_host_env_beats_global_env_and_keyring(memory_keyring):
    memory_keyring.entries[("wbplay", "admin@pc42")] = "from-keyring"
    env = {"WBPLAY_PASSWORD": "global", "WBPLAY_PASSWORD_PC42": "per-host", "WBPLAY_USER": "admin"}
    c = get_credentials("pc42", env=env, interactive=False, prompt=_no_prompt)
    assert (c.username, c.password.reveal()) == ("admin", "per-host")
    assert c.source == "environment variable WBPLAY_PASSWORD_PC42"
    assert memory_keyring.lookups == []  # the keyring was not even asked


def test_global_env_is_used_for_hosts_without_their_own():
    env = {"WBPLAY_PASSWORD": "global", "WBPLAY_PASSWORD_PC43": "other", "WBPLAY_USER": "admin"}
    c = get_credentials("pc42", env=env, interactive=False, prompt=_no_prompt)
    assert c.password.reveal() == "global"


def test_inventory_username_wins_over_wbplay_user():
    env = {"WBPLAY_USER": "someone-else", "WBPLAY_PASSWORD": "pw"}
    c = get_credentials("pc42", "CORP\\backup", env=env, interactive=False, prompt=_no_prompt)
    assert c.username == "CORP\\backup"


def test_empty_env_password_counts_as_unset(memory_keyring):
    memory_keyring.entries[("wbplay", "admin@pc42")] = "from-keyring"
    c = get_credentials("pc42", "admin", env={"WBPLAY_PASSWORD": ""}, interactive=False, prompt=_no_prompt)
    assert c.password.reveal() == "from-keyring"


def test_keyring_user_at_host_then_host(memory_keyring):
    memory_keyring.entries[("wbplay", "pc42")] = "host-only"
    c = get_credentials("pc42", "admin", env={}, interactive=False, prompt=_no_prompt)
    assert c.password.reveal() == "host-only"
    assert memory_keyring.lookups == [("wbplay", "admin@pc42"), ("wbplay", "pc42")]
    assert "keyring" in c.source

    memory_keyring.entries[("wbplay", "admin@pc42")] = "user-at-host"
    c = get_credentials("pc42", "admin", env={}, interactive=False, prompt=_no_prompt)
    assert c.password.reveal() == "user-at-host"


def test_broken_keyring_falls_through_to_the_prompt(broken_keyring):
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return "typed"

    c = get_credentials("pc42", "admin", env={}, interactive=True, prompt=prompt)
    assert c.password.reveal() == "typed"
    assert c.source == "prompt"
    assert asked == ["Password for admin@pc42: "]


def test_broken_keyring_and_no_tty_is_a_clear_error(broken_keyring):
    with pytest.raises(AuthenticationError) as info:
        get_credentials("pc42", "admin", env={}, interactive=False, prompt=_no_prompt)
    text = str(info.value)
    assert "WBPLAY_PASSWORD_PC42" in text and "WBPLAY_PASSWORD" in text
    assert "keyring set wbplay admin@pc42" in text


def test_no_prompt_when_stdin_is_not_a_tty(memory_keyring, monkeypatch):
    # interactive defaults to "stdin is a terminal"; under pytest it is not.
    class NotATty:
        def isatty(self) -> bool:
            return False

    monkeypatch.setattr("sys.stdin", NotATty())
    with pytest.raises(AuthenticationError):
        get_credentials("pc42", "admin", env={}, prompt=_no_prompt)


def test_missing_user_name_without_a_tty_names_the_variable(memory_keyring):
    with pytest.raises(AuthenticationError, match="WBPLAY_USER"):
        get_credentials("pc42", env={"WBPLAY_PASSWORD": "x"}, interactive=False, prompt=_no_prompt)


def test_user_name_is_prompted_for_on_a_tty(memory_keyring):
    c = get_credentials(
        "pc42",
        env={"WBPLAY_PASSWORD": "x"},
        interactive=True,
        prompt=_no_prompt,
        user_prompt=lambda text: " CORP\\admin ",
    )
    assert c.username == "CORP\\admin"


def test_only_password_transports_need_a_password():
    assert needs_password("ntlm") and needs_password("basic") and needs_password("credssp")
    assert not needs_password("certificate") and not needs_password("kerberos")
