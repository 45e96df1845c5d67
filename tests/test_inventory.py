"""--host resolution: inventory groups and vars, bare addresses, secure defaults, pointed errors."""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from wbplay import resources
from wbplay.errors import InventoryError, UsageError
from wbplay.hosts.inventory.files import default_inventory_path
from wbplay.hosts.inventory.resolve import resolve
from wbplay.hosts.inventory.yaml_file import load_inventory
from wbplay.hosts.target import Target, TlsVerificationDisabledWarning

INVENTORY = """\
all:
  vars:
    username: CORP\\backupadmin
    operation_timeout: 30
groups:
  office:
    vars:
      transport: ntlm
      port: 15986
    hosts:
      pc42:
        address: 10.0.0.42
      pc43:
  lab:
    vars:
      scheme: http
      port: 5985
    hosts:
      labpc:
        address: 127.0.0.1
        port: 55985
        username: .\\Administrator
hosts:
  kiosk:
    address: kiosk.corp.example
    transport: basic
"""


def write(tmp_path: Path, text: str, name: str = "inventory.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def inv(tmp_path: Path) -> Path:
    return write(tmp_path, INVENTORY)


def test_schema_is_a_valid_2020_12_schema():
    Draft202012Validator.check_schema(resources.schema("inventory"))


# -- bare specs, no inventory ------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "url"),
    [
        ("pc42", "https://pc42:5986/wsman"),
        ("10.1.2.3", "https://10.1.2.3:5986/wsman"),
        ("pc42:6000", "https://pc42:6000/wsman"),
        ("http://pc42", "http://pc42:5985/wsman"),
        ("https://pc42:1234", "https://pc42:1234/wsman"),
        ("https://pc42:1234/wsman", "https://pc42:1234/wsman"),
        ("[fe80::1]:5999", "https://[fe80::1]:5999/wsman"),
        ("http://[::1]", "http://[::1]:5985/wsman"),
    ],
)
def test_bare_specs_have_secure_defaults(tmp_path, spec, url):
    empty = write(tmp_path, "# nothing yet\n")
    (target,) = resolve(spec, empty)
    assert target.url == url
    assert (target.transport, target.cert_validation) == ("ntlm", "validate")
    assert target.origin == "command line"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("sim:pc42", "not a WinRM host"),
        ("local", "not a WinRM host"),
        ("pc42:http", "not a port number"),
        ("pc42:70000", "not a port number"),
        ("ftp://pc42", "http or https"),
        ("https://admin:pw@pc42:5986", "credentials never go on the command line"),
        ("https://pc42/other", "path is always /wsman"),
        ("pc 42", "not a valid host name"),
        ("pc42,,pc43", "empty host name"),
    ],
)
def test_bad_specs_are_usage_errors(tmp_path, spec, message):
    empty = write(tmp_path, "")
    with pytest.raises(UsageError, match=message) as info:
        resolve(spec, empty)
    assert "pw@" not in str(info.value)


# -- the inventory -----------------------------------------------------------------------


def test_precedence_host_over_group_over_all(inv):
    (labpc,) = resolve("labpc", inv)
    assert labpc.address == "127.0.0.1"
    assert labpc.port == 55985  # host var beats the group's 5985
    assert labpc.scheme == "http"  # group var
    assert labpc.username == ".\\Administrator"  # host var beats all.vars
    assert labpc.operation_timeout == 30 and labpc.read_timeout == 40  # all.vars, read = op + 10
    assert labpc.url == "http://127.0.0.1:55985/wsman"
    assert labpc.origin == f"{inv}:19"


def test_group_resolves_to_its_hosts_in_file_order(inv):
    targets = resolve("office", inv)
    assert [t.name for t in targets] == ["pc42", "pc43"]
    assert [t.url for t in targets] == ["https://10.0.0.42:15986/wsman", "https://pc43:15986/wsman"]
    assert all(t.username == "CORP\\backupadmin" for t in targets)


def test_comma_list_mixes_groups_hosts_and_addresses_without_duplicates(inv):
    targets = resolve("pc43,office,kiosk,192.0.2.9", inv)
    assert [t.name for t in targets] == ["pc43", "pc42", "kiosk", "192.0.2.9"]


def test_unknown_names_are_bare_hosts_with_all_vars(inv):
    (t,) = resolve("pc99", inv)
    assert t.address == "pc99" and t.port == 5986
    assert t.username == "CORP\\backupadmin" and t.operation_timeout == 30


def test_port_on_the_command_line_overrides_the_inventory(inv):
    (t,) = resolve("pc42:7000", inv)
    assert t.url == "https://10.0.0.42:7000/wsman"


def test_group_with_a_port_is_refused(inv):
    with pytest.raises(UsageError, match="is a group"):
        resolve("office:7000", inv)


def test_basic_over_https_is_allowed(inv):
    (kiosk,) = resolve("kiosk", inv)
    assert (kiosk.transport, kiosk.scheme) == ("basic", "https")


def test_basic_over_http_is_refused_with_the_line(tmp_path):
    path = write(
        tmp_path,
        """\
        groups:
          shop:
            vars: {scheme: http}
            hosts:
              till1:
                transport: basic
        """,
    )
    with pytest.raises(InventoryError) as info:
        resolve("till1", path)
    err = info.value
    assert err.line == 6 and err.key_path == "groups.shop.hosts.till1.transport"
    assert "clear text" in str(err) and "AllowUnencrypted" in str(err)
    assert "https" in err.hint


def test_basic_from_all_vars_with_an_http_url_is_refused(tmp_path):
    path = write(tmp_path, "all:\n  vars:\n    transport: basic\n")
    with pytest.raises(InventoryError) as info:
        resolve("http://pc42", path)
    assert info.value.line == 3


def test_duplicate_key_is_an_error_with_both_lines(tmp_path):
    path = write(
        tmp_path,
        """\
        hosts:
          pc42:
            address: 10.0.0.42
          pc42:
            address: 10.0.0.43
        """,
    )
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert info.value.line == 4
    assert "first defined on line 2" in str(info.value)
    assert str(info.value).startswith(f"{path}:4:")


def test_unknown_key_points_at_the_key_and_suggests(tmp_path):
    path = write(
        tmp_path,
        """\
        hosts:
          pc42:
            address: 10.0.0.42
            cert_validaton: ignore
        """,
    )
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert (info.value.line, info.value.column) == (4, 5)
    assert info.value.hint == "did you mean 'cert_validation'?"


def test_password_in_the_inventory_is_refused_with_a_hint(tmp_path):
    path = write(tmp_path, "all:\n  vars:\n    password: hunter2\n")
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert "WBPLAY_PASSWORD" in info.value.hint
    assert "hunter2" not in str(info.value)


def test_bad_enum_value_has_the_line(tmp_path):
    path = write(tmp_path, "groups:\n  g:\n    vars:\n      scheme: htps\n")
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert info.value.line == 4 and "htps" in str(info.value)


def test_conflicting_groups_are_an_error_not_last_wins(tmp_path):
    path = write(
        tmp_path,
        """\
        groups:
          a:
            vars: {port: 1111}
            hosts: {pc1: null}
          b:
            vars: {port: 2222}
            hosts: {pc1: null}
        """,
    )
    with pytest.raises(InventoryError) as info:
        resolve("pc1", path)
    assert info.value.line == 6 and "groups.a.vars.port" in str(info.value)


def test_groups_that_agree_are_fine_and_host_vars_settle_conflicts(tmp_path):
    path = write(
        tmp_path,
        """\
        groups:
          a:
            vars: {port: 1111}
            hosts: {pc1: {port: 3333}}
          b:
            vars: {port: 2222}
            hosts: {pc1: null}
        """,
    )
    with pytest.raises(InventoryError):
        resolve("pc1", path)  # the groups still disagree with each other
    path = write(
        tmp_path,
        """\
        groups:
          a: {vars: {port: 1111}, hosts: {pc1: null}}
          b: {vars: {port: 1111, scheme: http}, hosts: {pc1: null}}
        hosts:
          pc1: {scheme: https}
        """,
    )
    (t,) = resolve("pc1", path)
    assert (t.port, t.scheme) == (1111, "https")


def test_a_name_that_is_both_group_and_host_is_refused(tmp_path):
    path = write(tmp_path, "groups:\n  pc1:\n    hosts: {pc2: null}\nhosts:\n  pc1: {}\n")
    with pytest.raises(InventoryError, match="both a group and a host"):
        load_inventory(path)


def test_empty_group_is_an_error(tmp_path):
    path = write(tmp_path, "groups:\n  empty:\n    vars: {port: 1}\n")
    with pytest.raises(InventoryError, match="has no hosts"):
        resolve("empty", path)


def test_timeouts_must_leave_room(tmp_path):
    path = write(tmp_path, "hosts:\n  pc1:\n    operation_timeout: 60\n    read_timeout: 60\n")
    with pytest.raises(InventoryError) as info:
        resolve("pc1", path)
    assert info.value.line == 4


def test_certificate_transport_needs_https_and_key_files(tmp_path):
    (tmp_path / "client.pem").write_text("x")
    (tmp_path / "client.key").write_text("x")
    path = write(tmp_path, "hosts:\n  pc1: {transport: certificate, cert_pem: client.pem}\n")
    with pytest.raises(InventoryError, match="cert_pem and cert_key_pem"):
        resolve("pc1", path)
    path = write(
        tmp_path, "hosts:\n  pc1: {transport: certificate, cert_pem: client.pem, cert_key_pem: client.key}\n"
    )
    (t,) = resolve("pc1", path)
    assert t.cert_pem == str(tmp_path / "client.pem")


# -- TLS validation ----------------------------------------------------------------------


def test_ca_bundle_is_relative_to_the_inventory_and_must_exist(tmp_path):
    path = write(tmp_path, "all:\n  vars:\n    ca_bundle: certs/corp-ca.pem\n")
    with pytest.raises(InventoryError, match="ca_bundle file not found") as info:
        resolve("pc1", path)
    assert info.value.line == 3
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "corp-ca.pem").write_text("pem")
    (t,) = resolve("pc1", path)
    assert t.ca_bundle == str(tmp_path / "certs" / "corp-ca.pem")
    assert t.cert_validation == "validate" and not t.insecure


def test_cert_validation_ignore_warns(tmp_path):
    path = write(tmp_path, "hosts:\n  pc1: {cert_validation: ignore}\n")
    with pytest.warns(TlsVerificationDisabledWarning, match="certificate validation is OFF for pc1"):
        (t,) = resolve("pc1", path)
    assert t.insecure


def test_insecure_flag_warns_and_overrides(tmp_path):
    empty = write(tmp_path, "")
    with pytest.warns(TlsVerificationDisabledWarning):
        (t,) = resolve("pc1", empty, insecure_skip_tls_verify=True)
    assert t.cert_validation == "ignore"


def test_no_warning_when_validation_is_on(inv):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resolve("office", inv)


# -- where the inventory is ----------------------------------------------------------------


def test_default_location_follows_xdg(tmp_path):
    path, required = default_inventory_path({"XDG_CONFIG_HOME": str(tmp_path)})
    assert path == tmp_path / "wbplay" / "inventory.yml" and not required
    path, required = default_inventory_path({"WBPLAY_INVENTORY": "/etc/wbplay.yml"})
    assert path == Path("/etc/wbplay.yml") and required


def test_missing_default_inventory_is_fine_missing_explicit_one_is_not(tmp_path):
    (t,) = resolve("pc1", None, env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert t.address == "pc1"
    with pytest.raises(InventoryError, match="cannot read the inventory"):
        resolve("pc1", tmp_path / "nope.yml")
    with pytest.raises(InventoryError, match="cannot read the inventory"):
        resolve("pc1", None, env={"WBPLAY_INVENTORY": str(tmp_path / "nope.yml")})


def test_default_inventory_is_read_from_xdg(tmp_path):
    (tmp_path / "wbplay").mkdir()
    write(tmp_path / "wbplay", INVENTORY)
    targets = resolve("office", None, env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert [t.name for t in targets] == ["pc42", "pc43"]


def test_target_is_frozen():
    t = Target(name="pc1", address="pc1", port=5986)
    with pytest.raises(AttributeError):
        t.port = 1  # type: ignore[misc]


def test_transport_override_from_the_command_line_is_checked_too(inv):
    (t,) = resolve("pc42", inv, transport="kerberos")
    assert t.transport == "kerberos"
    with pytest.raises(UsageError, match="--transport basic: Basic authentication over plain HTTP"):
        resolve("labpc", inv, transport="basic")
    with pytest.raises(UsageError, match="unknown transport"):
        resolve("pc42", inv, transport="negotiate")
