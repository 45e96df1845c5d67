"""Lab accounts: the users file, the private NTLM credential file, no leaked passwords."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import winrm

from wbplay.errors import UsageError
from wbplay.lab.server import LabConfig, LabServer
from wbplay.lab.users import DEFAULT_USER, LabUser, NtlmUserFile, load_users


def test_line_format(tmp_path: Path) -> None:
    path = tmp_path / "users.txt"
    path.write_text(
        "# lab accounts\n\nwbadmin:first-pass\nhelpdesk:with spaces and = signs\n", encoding="utf-8"
    )
    users = load_users(path)
    assert [(u.name, u.password) for u in users] == [
        ("wbadmin", "first-pass"),
        ("helpdesk", "with spaces and = signs"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "users:\n  wbadmin: first-pass\n  helpdesk: second\n",
        "users:\n  - {name: wbadmin, password: first-pass}\n  - {name: helpdesk, password: second}\n",
    ],
)
def test_yaml_format(tmp_path: Path, text: str) -> None:
    path = tmp_path / "users.yaml"
    path.write_text(text, encoding="utf-8")
    assert [u.name for u in load_users(path)] == ["wbadmin", "helpdesk"]


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("u.txt", "no-colon-here\n", "expected 'user:password'"),
        ("u.txt", "wbadmin:\n", "empty password"),
        ("u.txt", "wbadmin:a:b\n", "contains ':'"),
        ("u.txt", "PC42\\wbadmin:pw\n", "invalid user name"),
        ("u.txt", "a:x\nA:y\n", "defined twice"),
        ("u.txt", "# nothing\n", "no users"),
        ("u.yaml", "users: [1, 2]\n", "users:"),
        ("u.yaml", "users: {wbadmin: 123}\n", "string password"),
    ],
)
def test_invalid_files_name_the_problem(tmp_path: Path, name: str, text: str, problem: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=problem):
        load_users(path)


def test_errors_never_echo_passwords(tmp_path: Path) -> None:
    path = tmp_path / "u.txt"
    path.write_text("wbadmin:s3cr3t:more\n", encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        load_users(path)
    assert "s3cr3t" not in str(caught.value)
    assert "s3cr3t" not in repr(LabUser("x", "s3cr3t"))


def test_ntlm_user_file_is_private_and_env_is_restored() -> None:
    before = os.environ.get("NTLM_USER_FILE")
    store = NtlmUserFile((DEFAULT_USER,), "PC42")
    try:
        mode = stat.S_IMODE(os.stat(store.path).st_mode)
        assert mode == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(store.path)).st_mode) == 0o700
        lines = Path(store.path).read_text(encoding="utf-8").splitlines()
        assert [line.rsplit(":", 1)[0] for line in lines] == [":wbadmin", "PC42:wbadmin", ".:wbadmin"]
        with store.active():
            assert os.environ["NTLM_USER_FILE"] == store.path
        assert os.environ.get("NTLM_USER_FILE") == before
    finally:
        store.close()
    assert not os.path.exists(store.path)


def test_two_labs_with_different_users_in_one_process(tmp_path: Path) -> None:
    path = tmp_path / "users.txt"
    path.write_text("helpdesk:other-lab-pass\n", encoding="utf-8")
    before = os.environ.get("NTLM_USER_FILE")
    with LabServer() as first, LabServer(LabConfig(users=load_users(path))) as second:
        ok = winrm.Session(second.url, auth=("helpdesk", "other-lab-pass"), transport="ntlm", proxy=None)
        assert ok.run_cmd("whoami").std_out == b"pc42\\helpdesk\r\n"
        default = winrm.Session(
            first.url, auth=(DEFAULT_USER.name, DEFAULT_USER.password), transport="ntlm", proxy=None
        )
        assert default.run_cmd("whoami").std_out == b"pc42\\wbadmin\r\n"
        cross = winrm.Session(
            second.url, auth=(DEFAULT_USER.name, DEFAULT_USER.password), transport="ntlm", proxy=None
        )
        with pytest.raises(winrm.exceptions.InvalidCredentialsError):
            cross.run_cmd("hostname")
        for record in first.log + second.log:
            assert "pass" not in repr(record)
    assert os.environ.get("NTLM_USER_FILE") == before  # only ever set around acceptor calls
