"""A fleet that must prompt for credentials asks once per credential, one prompt at a time.

The unit half drives :class:`PromptOnce` from many threads at once; the end-to-end
half runs a fleet dry-run through the CLI, pywinrm and HTTP against lab PCs with
no user or password in the environment and a terminal that answers the prompts.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wbplay.cli import app
from wbplay.hosts import credentials
from wbplay.hosts.credentials import PromptOnce, get_credentials
from wbplay.lab.fleet import start_fleet
from wbplay.lab.users import DEFAULT_USER


class _Terminal:
    """Answers prompts slowly, counting them and how many were open at once."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.asked: list[str] = []
        self.open = 0
        self.most_open = 0
        self._lock = threading.Lock()

    def __call__(self, text: str) -> str:
        with self._lock:
            self.asked.append(text)
            self.open += 1
            self.most_open = max(self.most_open, self.open)
        time.sleep(0.05)  # a person typing: any other thread that prompts now would overlap
        with self._lock:
            self.open -= 1
        return next(v for k, v in self.answers.items() if k in text)


def test_many_threads_two_users_two_prompts_never_at_once() -> None:
    term = _Terminal({"alice": "pw-a", "bob": "pw-b"})
    prompts = PromptOnce()
    got: dict[str, str] = {}

    def one(i: int) -> None:
        user = "alice" if i % 2 else "bob"
        c = get_credentials(f"pc{i:02}", user, env={}, interactive=True, prompt=term, prompts=prompts)
        got[f"pc{i:02}"] = f"{c.username}:{c.password.reveal()}"

    threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(term.asked) == 2, term.asked
    assert term.most_open == 1
    assert {v for k, v in got.items() if int(k[2:]) % 2} == {"alice:pw-a"}
    assert {v for k, v in got.items() if not int(k[2:]) % 2} == {"bob:pw-b"}
    assert all("every PC this run logs on to as" in a for a in term.asked)


def test_a_prompt_cut_short_caches_nothing() -> None:
    prompts = PromptOnce()

    def interrupted(text: str) -> str:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        get_credentials("pc01", "alice", env={}, interactive=True, prompt=interrupted, prompts=prompts)
    c = get_credentials("pc02", "alice", env={}, interactive=True, prompt=lambda t: "pw", prompts=prompts)
    assert c.password.reveal() == "pw"


def test_a_fleet_with_no_password_in_the_environment_prompts_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WBPLAY_USER", raising=False)
    monkeypatch.delenv("WBPLAY_PASSWORD", raising=False)
    monkeypatch.setattr(credentials, "_stdin_is_tty", lambda: True)
    monkeypatch.setattr(credentials, "_from_keyring", lambda user, host: None)
    term = _Terminal({"User name": DEFAULT_USER.name, "Password": DEFAULT_USER.password})
    monkeypatch.setattr("getpass.getpass", term)
    monkeypatch.setattr("builtins.input", term)
    with start_fleet(tmp_path / "pcs", 8, kinds=("broken",)) as fleet:
        inv = fleet.write_inventory(tmp_path / "inventory.yml")
        r = CliRunner().invoke(
            app, ["run", "fix-0x80070422", "--host", "lab", "-i", str(inv), "--dry-run", "--forks", "8"]
        )
    assert r.exit_code == 1, r.output  # every PC dry-ran: changes pending
    assert "exit 1 changes pending: 8 PC(s)" in r.output
    assert [a.split(" ")[0] for a in term.asked] == ["User", "Password"], term.asked
    assert term.most_open == 1
    assert DEFAULT_USER.password not in r.output
