"""Connection messages that point at the fix (issue 14), printed as written (rich markup
escaped everywhere), end to end through the CLI, pywinrm and the loopback lab."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import requests
import winrm.transport
from typer.testing import CliRunner

from wbplay.cli import app
from wbplay.hosts.target import Target, TlsVerificationDisabledWarning
from wbplay.hosts.winrm.failures import answers_plain_http, translate
from wbplay.lab.agent_handler import AgentHandler
from wbplay.lab.cmdexe import HostIdentity
from wbplay.lab.server import LabConfig, LabServer
from wbplay.lab.users import DEFAULT_USER
from wbplay.sim.model import HostModel
from wbplay.sim.state import read_state

runner = CliRunner()


@pytest.fixture
def http_lab(state_file, monkeypatch: pytest.MonkeyPatch) -> Iterator[LabServer]:
    """pc42 behind a WinRM endpoint that speaks plain HTTP (WinRM's 5985 listener)."""
    monkeypatch.setenv("WBPLAY_USER", DEFAULT_USER.name)
    monkeypatch.setenv("WBPLAY_PASSWORD", DEFAULT_USER.password)
    model = HostModel(read_state(state_file("pc42")))
    config = LabConfig(
        host=HostIdentity(model.hostname, str(model.os["version"])),
        powershell=AgentHandler(model),
        timeout_scale=0.05,
    )
    with LabServer(config) as server:
        yield server


def test_https_to_a_plain_http_listener_says_use_http(http_lab: LabServer) -> None:
    port = http_lab.port
    r = runner.invoke(app, ["run", "fix-0x80070422", "--host", f"https://127.0.0.1:{port}", "--dry-run"])
    assert r.exit_code == 4, r.output
    assert f"the server answered in plain HTTP; use http://127.0.0.1:{port}" in r.output
    assert "certificate" not in r.output.lower()
    # Turning certificate checks off changes nothing about the cause: the same advice.
    with pytest.warns(TlsVerificationDisabledWarning):
        insecure = runner.invoke(
            app,
            ["run", "fix-0x80070422", "--host", f"https://127.0.0.1:{port}", "--dry-run",
             "--insecure-skip-tls-verify"],
        )  # fmt: skip
    assert insecure.exit_code == 4, insecure.output
    assert f"the server answered in plain HTTP; use http://127.0.0.1:{port}" in insecure.output
    # ... and the advice works.
    ok = runner.invoke(app, ["run", "fix-0x80070422", "--host", f"http://127.0.0.1:{port}", "--dry-run"])
    assert ok.exit_code == 1, ok.output


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_reply_that_is_not_tls_from_something_not_http() -> None:
    port = _closed_port()
    assert not answers_plain_http("127.0.0.1", port)
    e = requests.exceptions.SSLError("[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)")
    failure = translate(e, Target("pc", "127.0.0.1", port), None, connected_once=False, chunk_size=1)
    assert "did not answer in TLS: is it an HTTP listener?" in str(failure)
    assert f"If so, use http://127.0.0.1:{port}" in str(failure)


def test_a_failed_handshake_with_validation_off_does_not_blame_the_certificate() -> None:
    e = requests.exceptions.SSLError("[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure")
    t = Target("pc", "127.0.0.1", 5986, cert_validation="ignore")
    text = str(translate(e, t, None, connected_once=False, chunk_size=1))
    assert "certificate validation is off" in text and "ca_bundle" not in text


@pytest.mark.skipif(winrm.transport.HAVE_KERBEROS, reason="Kerberos support is installed here")
def test_the_kerberos_extras_hint_prints_literally(http_lab: LabServer) -> None:
    r = runner.invoke(
        app,
        ["run", "fix-0x80070422", "--host", f"http://127.0.0.1:{http_lab.port}", "--dry-run",
         "--transport", "kerberos"],
    )  # fmt: skip
    assert r.exit_code == 4, r.output
    assert "pip install 'pywinrm[kerberos]'" in r.output


@pytest.mark.skipif(winrm.transport.HAVE_CREDSSP, reason="CredSSP support is installed here")
def test_the_credssp_extras_hint_prints_literally(http_lab: LabServer) -> None:
    r = runner.invoke(
        app,
        ["run", "fix-0x80070422", "--host", f"http://127.0.0.1:{http_lab.port}", "--dry-run",
         "--transport", "credssp"],
    )  # fmt: skip
    assert r.exit_code == 4, r.output
    assert "pip install 'pywinrm[credssp]'" in r.output


def test_usage_hints_with_brackets_print_literally() -> None:
    r = runner.invoke(app, ["run", "fix-0x80070422", "--host", "[fe80::1"])
    assert r.exit_code == 2
    assert "write an IPv6 address as [addr] or [addr]:port" in r.output
