"""HTTPS with the lab's throw-away CA, and Basic auth only when enabled."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import winrm
from winrm.exceptions import InvalidCredentialsError

from wbplay.lab.server import LabConfig, LabServer
from wbplay.lab.users import DEFAULT_USER

USER, PASSWORD = DEFAULT_USER.name, DEFAULT_USER.password


@pytest.fixture(scope="module")
def tls_lab() -> Iterator[LabServer]:
    with LabServer(LabConfig(tls=True)) as server:
        yield server


@pytest.fixture(scope="module")
def tls_basic_lab() -> Iterator[LabServer]:
    with LabServer(LabConfig(tls=True, basic=True)) as server:
        yield server


def https_session(lab: LabServer, transport: str, ca: str | None) -> winrm.Session:
    return winrm.Session(
        lab.url,
        auth=(USER, PASSWORD),
        transport=transport,
        server_cert_validation="validate",
        ca_trust_path=ca,  # None: the default trust store only
        proxy=None,
    )


def test_ntlm_over_https_validates_with_the_lab_ca(tls_lab: LabServer) -> None:
    assert tls_lab.url.startswith("https://127.0.0.1:")
    assert tls_lab.ca_path is not None and tls_lab.ca_path.is_file()
    r = https_session(tls_lab, "ntlm", str(tls_lab.ca_path)).run_cmd("whoami")
    assert r.std_out == b"pc42\\wbadmin\r\n"
    soap = [rec for rec in tls_lab.log if rec.action is not None]
    # TLS protects the bodies, so pywinrm sends plain SOAP and the lab accepts it.
    assert soap and not any(rec.encrypted for rec in soap)


def test_without_the_ca_the_certificate_is_rejected(tls_lab: LabServer) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        https_session(tls_lab, "ntlm", None).run_cmd("hostname")


def test_basic_is_refused_unless_enabled(tls_lab: LabServer) -> None:
    with pytest.raises(InvalidCredentialsError):
        https_session(tls_lab, "ssl", str(tls_lab.ca_path)).run_cmd("hostname")
    anonymous = requests.post(tls_lab.url, data=b"", verify=str(tls_lab.ca_path), timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == "Negotiate"


def test_basic_over_https_when_enabled(tls_basic_lab: LabServer) -> None:
    anonymous = requests.post(tls_basic_lab.url, data=b"", verify=str(tls_basic_lab.ca_path), timeout=5)
    assert anonymous.headers["WWW-Authenticate"] == 'Negotiate, Basic realm="WSMAN"'
    r = https_session(tls_basic_lab, "ssl", str(tls_basic_lab.ca_path)).run_cmd("whoami")
    assert r.std_out == b"pc42\\wbadmin\r\n"
    bad = winrm.Session(
        tls_basic_lab.url,
        auth=(USER, "wrong"),
        transport="ssl",
        ca_trust_path=str(tls_basic_lab.ca_path),
        proxy=None,
    )
    with pytest.raises(InvalidCredentialsError):
        bad.run_cmd("hostname")


def test_basic_over_http_needs_allow_unencrypted() -> None:
    def basic_session(lab: LabServer) -> winrm.Session:
        return winrm.Session(lab.url, auth=(USER, PASSWORD), transport="basic", proxy=None)

    with LabServer(LabConfig(basic=True)) as lab, pytest.raises(InvalidCredentialsError):
        basic_session(lab).run_cmd("hostname")
    with LabServer(LabConfig(basic=True, allow_unencrypted=True)) as lab:
        assert basic_session(lab).run_cmd("hostname").std_out == b"PC42\r\n"
