"""The lab's SOAP layer: request parsing as each real client writes it, and Windows-shaped responses."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import pytest

from wbplay.lab import wsman
from wbplay.lab.wsman import WsmanFault

NS = {
    "s": wsman.NS_S,
    "a": wsman.NS_A,
    "w": wsman.NS_W,
    "rsp": wsman.NS_RSP,
    "x": wsman.NS_X,
    "f": wsman.NS_F,
}


def envelope(action: str, body: str, *, message_id: str = "uuid:abc", extra_header: str = "") -> bytes:
    return (
        f'<s:Envelope xmlns:s="{wsman.NS_S}" xmlns:a="{wsman.NS_A}" xmlns:w="{wsman.NS_W}" '
        f'xmlns:rsp="{wsman.NS_RSP}"><s:Header><a:Action s:mustUnderstand="true">{action}</a:Action>'
        f"<a:MessageID>{message_id}</a:MessageID><w:OperationTimeout>PT20S</w:OperationTimeout>"
        f'<w:MaxEnvelopeSize s:mustUnderstand="true">153600</w:MaxEnvelopeSize>'
        f'<w:ResourceURI s:mustUnderstand="true">{wsman.CMD_RESOURCE_URI}</w:ResourceURI>'
        f'<w:SelectorSet><w:Selector Name="ShellId">11-22</w:Selector></w:SelectorSet>{extra_header}'
        f"</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def test_header_fields_are_parsed() -> None:
    options = (
        '<w:OptionSet><w:Option Name="WINRS_CODEPAGE">65001</w:Option>'
        '<w:Option Name="WINRS_NOPROFILE">TRUE</w:Option></w:OptionSet>'
    )
    request = wsman.parse_request(envelope(wsman.ACTION_CREATE, "<rsp:Shell/>", extra_header=options))
    assert request.action == wsman.ACTION_CREATE
    assert request.message_id == "uuid:abc"
    assert request.shell_id == "11-22"
    assert request.operation_timeout_s == 20
    assert request.max_envelope_size == 153600
    assert request.options == {"WINRS_CODEPAGE": "65001", "WINRS_NOPROFILE": "TRUE"}
    assert request.option_bool("WINRS_NOPROFILE", False) is True
    assert request.option_bool("WINRS_SKIP_CMD_SHELL", False) is False


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT20S", 20), ("PT7200.000S", 7200), ("P0DT1H0M0S", 3600), ("PT1M30S", 90), ("P1D", 86400)],
)
def test_durations(text: str, seconds: float) -> None:
    assert wsman.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["3600", "PT", "P", "PTS", "20S", "PT-1S"])
def test_non_durations_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        wsman.parse_duration(text)


def test_integer_idle_timeout_is_a_schema_fault() -> None:
    request = wsman.parse_request(
        envelope(wsman.ACTION_CREATE, "<rsp:Shell><rsp:IdleTimeOut>3600</rsp:IdleTimeOut></rsp:Shell>")
    )
    with pytest.raises(WsmanFault) as caught:
        wsman.parse_shell(request)
    assert caught.value.wsman_code == 2150858817
    assert caught.value.subcode == "w:SchemaValidationError"


def test_shell_body() -> None:
    body = (
        '<rsp:Shell ShellId="ABC"><rsp:InputStreams>stdin</rsp:InputStreams>'
        "<rsp:OutputStreams>stdout stderr</rsp:OutputStreams><rsp:IdleTimeOut>PT60S</rsp:IdleTimeOut>"
        '<rsp:Environment><rsp:Variable Name="X">1</rsp:Variable></rsp:Environment></rsp:Shell>'
    )
    shell = wsman.parse_shell(wsman.parse_request(envelope(wsman.ACTION_CREATE, body)))
    assert shell.shell_id == "ABC"
    assert shell.idle_timeout_s == 60
    assert shell.environment == {"X": "1"}


def test_pywinrm_single_arguments_element() -> None:
    body = (
        "<rsp:CommandLine><rsp:Command>echo</rsp:Command><rsp:Arguments>a b</rsp:Arguments></rsp:CommandLine>"
    )
    line = wsman.parse_command_line(wsman.parse_request(envelope(wsman.ACTION_COMMAND, body)))
    assert line.joined() == "echo a b"


def test_pypsrp_and_masterzen_one_element_per_argument_with_cdata() -> None:
    body = (
        '<rsp:CommandLine CommandId="c1"><rsp:Command><![CDATA[cmd.exe]]></rsp:Command>'
        "<rsp:Arguments>/c</rsp:Arguments><rsp:Arguments><![CDATA[echo]]></rsp:Arguments>"
        "<rsp:Arguments>hi &amp; bye</rsp:Arguments></rsp:CommandLine>"
    )
    line = wsman.parse_command_line(wsman.parse_request(envelope(wsman.ACTION_COMMAND, body)))
    assert line.command == "cmd.exe"
    assert line.arguments == ("/c", "echo", "hi & bye")
    assert line.command_id == "c1"
    assert line.joined() == "cmd.exe /c echo hi & bye"


@pytest.mark.parametrize(
    ("end", "expected"), [("true", True), ("True", True), ("False", False), (None, False)]
)
def test_send_end_attribute_casing(end: str | None, expected: bool) -> None:
    end_attr = f' End="{end}"' if end is not None else ""
    data = base64.b64encode(b"payload").decode()
    body = f'<rsp:Send><rsp:Stream Name="stdin" CommandId="c1"{end_attr}>{data}</rsp:Stream></rsp:Send>'
    (chunk,) = wsman.parse_send(wsman.parse_request(envelope(wsman.ACTION_SEND, body)))
    assert chunk == wsman.SendChunk(stream="stdin", command_id="c1", data=b"payload", end=expected)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate", "terminate"),
        ("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/Terminate", "terminate"),
        ("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_c", "ctrl_c"),
    ],
)
def test_signal_codes_are_case_insensitive(code: str, expected: str) -> None:
    body = f'<rsp:Signal CommandId="c1"><rsp:Code>{code}</rsp:Code></rsp:Signal>'
    signal = wsman.parse_signal(wsman.parse_request(envelope(wsman.ACTION_SIGNAL, body)))
    assert signal.code == expected
    assert signal.command_id == "c1"


def test_garbage_and_dtds_are_refused() -> None:
    with pytest.raises(WsmanFault):
        wsman.parse_request(b"not xml")
    with pytest.raises(WsmanFault):
        wsman.parse_request(b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')


def test_relates_to_echoes_the_message_id_verbatim() -> None:
    upper = "uuid:81154310-1C68-4690-9BD0-EA693328825B"  # pypsrp sends upper case and compares strings
    request = wsman.parse_request(envelope(wsman.ACTION_DELETE, "", message_id=upper))
    for rendered in (wsman.render_delete(request), wsman.render_signal(request), wsman.render_send(request)):
        root = ET.fromstring(rendered)
        assert root.findtext("s:Header/a:RelatesTo", namespaces=NS) == upper


def test_create_response_shapes() -> None:
    request = wsman.parse_request(envelope(wsman.ACTION_CREATE, "<rsp:Shell/>"))
    info = wsman.ShellInfo("S-1", "wbadmin", "127.0.0.1", 7200, "stdin", "stdout stderr")
    modern = ET.fromstring(
        wsman.render_create(request, "http://127.0.0.1:1/wsman", info, include_shell_block=True)
    )
    selector = modern.find("s:Body/x:ResourceCreated/a:ReferenceParameters/w:SelectorSet/w:Selector", NS)
    assert selector is not None and selector.get("Name") == "ShellId" and selector.text == "S-1"
    assert modern.findtext("s:Body/rsp:Shell/rsp:ShellId", namespaces=NS) == "S-1"
    assert modern.findtext("s:Body/rsp:Shell/rsp:IdleTimeOut", namespaces=NS) == "PT7200.000S"
    win7 = ET.fromstring(
        wsman.render_create(request, "http://127.0.0.1:1/wsman", info, include_shell_block=False)
    )
    assert win7.find("s:Body/rsp:Shell", NS) is None
    assert (
        win7.find("s:Body/x:ResourceCreated/a:ReferenceParameters/w:SelectorSet/w:Selector", NS) is not None
    )


def test_receive_response_partial_and_done() -> None:
    request = wsman.parse_request(envelope(wsman.ACTION_RECEIVE, ""))
    running = ET.fromstring(wsman.render_receive(request, "C1", [("stdout", b"hi")], False, None))
    states = running.findall("s:Body/rsp:ReceiveResponse/rsp:CommandState", NS)
    assert [s.get("State") for s in states] == [wsman.STATE_RUNNING]
    done = ET.fromstring(wsman.render_receive(request, "C1", [("stdout", b"hi\r\n")], True, 3))
    streams = done.findall("s:Body/rsp:ReceiveResponse/rsp:Stream", NS)
    assert [(s.get("Name"), s.get("End"), s.text) for s in streams] == [
        ("stdout", None, "aGkNCg=="),
        ("stdout", "true", None),
        ("stderr", "true", None),
    ]
    state = done.find("s:Body/rsp:ReceiveResponse/rsp:CommandState", NS)
    assert state is not None and state.get("State") == wsman.STATE_DONE
    assert done.findtext("s:Body/rsp:ReceiveResponse/rsp:CommandState/rsp:ExitCode", namespaces=NS) == "3"


def test_timeout_fault_mentions_operation_timeout() -> None:
    rendered = wsman.render_fault(wsman.fault_operation_timeout(), "uuid:x", "PC42")
    root = ET.fromstring(rendered)
    assert root.findtext("s:Body/s:Fault/s:Code/s:Subcode/s:Value", namespaces=NS) == "w:TimedOut"
    assert "OperationTimeout" in (root.findtext("s:Body/s:Fault/s:Reason/s:Text", namespaces=NS) or "")
    fault = root.find("s:Body/s:Fault/s:Detail/f:WSManFault", NS)
    assert fault is not None and fault.get("Code") == "2150858793"
