"""The engine <-> agent wire protocol: requests, stdin framing, responses, stderr."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wbplay.agent import protocol
from wbplay.agent.protocol import (
    SEPARATOR,
    build_stdin,
    clean_stderr,
    decode_request,
    decode_response,
    encode_fatal,
    encode_request,
    encode_response,
    split_stdin,
)
from wbplay.errors import AgentError
from wbplay.vocab.ops import OP_SPECS, Op, OpResult

# Characters that mean something to PowerShell (or to a shell on the way).
HOSTILE = "'\"`$(){};&|<>@#\u2018\u2019\u201a\u201b\u201c\u201d\u201e\x00\r"
# Everything a request may contain: base64, digits, names, the header.
REQUEST_ALPHABET = re.compile(r"[A-Za-z0-9+/=:,._\t\n -]*")

ONE_OF_EACH = [
    Op("os.info"),
    Op("service.get", {"name": "SDRSVC"}),
    Op("service.list"),
    Op("registry.get", {"key": "HKLM\\SOFTWARE\\Microsoft", "name": "(x)"}),
    Op("registry.list", {"key": "HKLM\\SYSTEM\\CurrentControlSet\\Services\\wbengine"}),
    Op("path.get", {"path": "C:\\System Volume Information"}),
    Op("path.list", {"path": "E:\\WindowsImageBackup"}),
    Op("journal.read", {"name": "20261130T030211Z-fix-0x80070422-PC-ACCT-02"}),
    Op(
        "events.query",
        {
            "provider": "Microsoft-Windows-Backup",
            "ids": [4, 5],
            "log": "Application",
            "since_days": 7,
            "max": 20,
        },
    ),
    Op("service.set_start_mode", {"name": "VSS", "start_mode": "Manual"}),
    Op("service.start", {"name": "VSS"}),
    Op("service.stop", {"name": "VSS"}),
    Op("registry.set", {"key": "HKLM\\X", "name": "Q", "type": "REG_QWORD", "value": 2**64 - 1}),
    Op("registry.set", {"key": "HKLM\\X", "name": "B", "type": "REG_BINARY", "value": "00ff10"}),
    Op("registry.set", {"key": "HKLM\\X", "name": "M", "type": "REG_MULTI_SZ", "value": []}),
    Op("registry.set", {"key": "HKLM\\X", "name": "N", "type": "REG_DWORD", "value": -1}),
    Op("registry.delete", {"key": "HKLM\\X", "name": "Q"}),
    Op("path.rename", {"path": "E:\\WindowsImageBackup", "new_name": "WindowsImageBackup.old"}),
    Op("path.delete", {"path": "E:\\WindowsImageBackup.old"}),
    Op("disk.list"),
    Op("volume.list"),
    Op("shadowstorage.list"),
    Op("shadowstorage.list", {"for_volume": "\\\\?\\Volume{0c5b1c9e-1d2e-4f60-9a7b-2c3d4e5f6a7b}\\"}),
    Op("backup.catalog", {"target": "E:"}),
    Op("session.info"),
    Op("session.interactive"),
    Op("user.libraries"),
    Op("service.policy"),
    Op("vssadmin.list_providers"),
    Op("wbadmin.get_disks"),
    Op("user.international"),
    Op("agent.environment"),
    Op("user.shell_folders"),
    Op("printer.list"),
    Op("printer.drivers"),
    Op("chkdsk.scan", {"volume": "C:"}),
    Op("chkntfs.query", {"volume": "@system"}),
    Op("fsutil.dirty_query", {"volume": "c:\\"}),
    Op("fsutil.ntfsinfo", {"volume": "E:"}),
    Op("vssadmin.list_writers"),
    Op("vssadmin.list_shadowstorage"),
    Op("wbadmin.get_versions"),
    Op("wbadmin.get_versions", {"target": "E:"}),
    Op("reagentc.info"),
    Op("sfc.verifyonly"),
    Op("cbs.sr_lines"),
    Op("dism.scanhealth"),
    Op("dism.restorehealth"),
    Op("chkdsk.schedule", {"volume": "@boot", "mode": "r"}),
    Op("chkdsk.run", {"volume": "E:", "mode": "f"}),
    Op("sfc.scannow"),
    Op("shadowstorage.add", {"for_volume": "@system", "on_volume": "C:", "max_size_mb": 0}),
    Op("shadowstorage.resize", {"for_volume": "C:", "on_volume": "C:", "max_size_mb": 4096}),
    Op("shadowstorage.delete", {"for_volume": "@winre", "on_volume": "C:"}),
    Op("winre.disable"),
    Op("winre.enable"),
    Op("service.restart", {"name": "CryptSvc"}),
    Op("host.reboot", {"reason": "wbplay: chkdsk C: /R at the next restart; it's \u201cscheduled\u201d"}),
    Op(
        "host.lock",
        {
            "action": "acquire",
            "run": "20261202T000000Z-fix-pc42-ab12",
            "controller": "ADMIN1",
            "stale_after_s": 21600,
        },
    ),
]


# ------------------------------------------------------------------ requests ---


def test_every_op_kind_is_covered_by_the_round_trip_sample() -> None:
    assert {op.name for op in ONE_OF_EACH} == set(OP_SPECS)


def test_request_round_trips_for_every_op() -> None:
    text = encode_request(ONE_OF_EACH, mode="write")
    assert text.isascii()
    assert decode_request(text) == ("write", ONE_OF_EACH)


def test_request_format() -> None:
    text = encode_request([Op("os.info"), Op("service.get", {"name": "VSS"})], mode="read")
    assert text == "WBPLAY-REQUEST 1 read\n0\tos.info\n1\tservice.get\tname=s:VlNT\n"


def test_empty_request_is_just_the_header() -> None:
    assert encode_request([], mode="read") == "WBPLAY-REQUEST 1 read\n"
    assert decode_request("WBPLAY-REQUEST 1 read\n") == ("read", [])


# Golden: the exact lines for hostile values (quotes of every kind, $(...),
# backticks, newline, NUL, non-BMP), pinned so the wire format cannot drift.
GOLDEN_OPS = [
    Op(
        "registry.get",
        {
            "key": "HKLM\\SOFTWARE\\It's \u2018a\u2019 \u201cb\u201d",
            "name": "$(Remove-Item C:\\ -Recurse -Force)",
        },
    ),
    Op("path.get", {"path": "C:\\x`;'\u201a\u201b\u201e\"\n\x00]"}),
    Op(
        "events.query",
        {"provider": "Microsoft-Windows-Backup", "ids": [4, 5, 517], "log": None, "since_days": 7, "max": 50},
    ),
    Op(
        "registry.set",
        {
            "key": "HKCU\\Software\\wbplay",
            "name": "",
            "type": "REG_MULTI_SZ",
            "value": ["a", "", "\u00fc\U0001f600"],
        },
    ),
    Op("registry.set", {"key": "HKLM\\X", "name": "D", "type": "REG_DWORD", "value": 4294967295}),
    Op("service.set_start_mode", {"name": "SDRSVC", "start_mode": "AutomaticDelayed"}),
]
GOLDEN_LINES = [
    "WBPLAY-REQUEST 1 write",
    "0\tregistry.get\tkey=s:SEtMTVxTT0ZUV0FSRVxJdCdzIOKAmGHigJkg4oCcYuKAnQ=="
    "\tname=s:JChSZW1vdmUtSXRlbSBDOlwgLVJlY3Vyc2UgLUZvcmNlKQ==",
    "1\tpath.get\tpath=s:QzpceGA7J+KAmuKAm+KAniIKAF0=",
    "2\tevents.query\tprovider=s:TWljcm9zb2Z0LVdpbmRvd3MtQmFja3Vw\tids=j:4,5,517\tlog=n:\tsince_days=i:7\tmax=i:50",
    "3\tregistry.set\tkey=s:SEtDVVxTb2Z0d2FyZVx3YnBsYXk=\tname=s:\ttype=s:UkVHX01VTFRJX1Na\tvalue=l:YQ==,=,w7zwn5iA",
    "4\tregistry.set\tkey=s:SEtMTVxY\tname=s:RA==\ttype=s:UkVHX0RXT1JE\tvalue=i:4294967295",
    "5\tservice.set_start_mode\tname=s:U0RSU1ZD\tstart_mode=s:QXV0b21hdGljRGVsYXllZA==",
]


def test_golden_hostile_request() -> None:
    text = encode_request(GOLDEN_OPS, mode="write")
    assert text.split("\n") == [*GOLDEN_LINES, ""]
    assert decode_request(text) == ("write", GOLDEN_OPS)


def test_golden_base64_decodes_to_the_hostile_value() -> None:
    # Independent of the decoder: the golden field really is UTF-8 base64 of the value.
    field = GOLDEN_LINES[1].split("\t")[3].removeprefix("name=s:")
    assert base64.b64decode(field).decode("utf-8") == "$(Remove-Item C:\\ -Recurse -Force)"


def _assert_inert(text: str) -> None:
    assert text.isascii()
    assert REQUEST_ALPHABET.fullmatch(text), text
    assert not set(HOSTILE) & set(text)


@settings(max_examples=300, deadline=None)
@given(
    key=st.text(),
    name=st.text(
        alphabet=st.one_of(st.sampled_from(HOSTILE + "\n\\ "), st.characters(exclude_categories=["Cs"]))
    ),
)
def test_any_string_is_inert_ascii_and_round_trips(key: str, name: str) -> None:
    ops = [Op("registry.get", {"key": key, "name": name})]
    text = encode_request(ops, mode="read")
    _assert_inert(text)
    assert decode_request(text) == ("read", ops)


@settings(max_examples=200, deadline=None)
@given(
    strings=st.lists(st.text(), max_size=5),
    ids=st.lists(st.integers(min_value=-(2**63), max_value=2**64), max_size=5),
    flag=st.booleans(),
)
def test_lists_and_integers_round_trip(strings: list[str], ids: list[int], flag: bool) -> None:
    ops = [
        Op("registry.set", {"key": "HKLM\\K", "name": "v", "type": "REG_MULTI_SZ", "value": strings}),
        Op("events.query", {"provider": "P", "ids": ids}),
        Op("registry.set", {"key": "HKLM\\K", "name": "b", "type": "REG_DWORD", "value": flag}),
    ]
    text = encode_request(ops, mode="write")
    _assert_inert(text)
    assert decode_request(text) == ("write", ops)


def test_a_list_holding_one_empty_string_differs_from_an_empty_list() -> None:
    def value_field(value: list[str]) -> str:
        op = Op("registry.set", {"key": "HKLM\\K", "name": "v", "type": "REG_MULTI_SZ", "value": value})
        return encode_request([op], mode="write").split("\t")[-1].strip()

    assert value_field([]) == "value=l:"
    assert value_field([""]) == "value=l:="
    assert value_field(["", ""]) == "value=l:=,="


@pytest.mark.parametrize(
    ("ops", "mode", "problem"),
    [
        ([Op("service.get")], "read", "missing argument 'name'"),
        ([Op("service.get", {"name": 5})], "read", "must be of type string"),
        ([Op("service.get", {"name": "x", "extra": 1})], "read", "unexpected argument"),
        ([Op("format.disk", {})], "read", "unknown op"),
        ([Op("service.start", {"name": "VSS"})], "read", "write op"),
        ([Op("os.info")], "admin", "mode must be"),
        ([Op("registry.get", {"key": "\ud800", "name": "x"})], "read", "lone surrogate"),
        ([Op("registry.set", {"key": "K", "name": "n", "type": "REG_SZ", "value": 1.5})], "write", "float"),
        (
            [Op("registry.set", {"key": "K", "name": "n", "type": "REG_SZ", "value": {"a": 1}})],
            "write",
            "dict",
        ),
        (
            [Op("registry.set", {"key": "K", "name": "n", "type": "REG_SZ", "value": ["a", 1]})],
            "write",
            "only",
        ),
    ],
)
def test_encode_request_refuses(ops: list[Op], mode: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        encode_request(ops, mode=mode)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "WBPLAY-REQUEST 2 read\n",
        "WBPLAY-REQUEST 1 admin\n",
        "WBPLAY-REQUEST 1  read\n",
        "HELLO 1 read\n",
        "WBPLAY-REQUEST 1 read\n1\tos.info\n",  # index must start at 0
        "WBPLAY-REQUEST 1 read\n0\tos.info\n0\tos.info\n",  # and count up
        "WBPLAY-REQUEST 1 read\n0\tos.info\n\n1\tos.info\n",  # no blank lines inside
        "WBPLAY-REQUEST 1 read\n0\tformat.disk\n",
        "WBPLAY-REQUEST 1 read\n0\tservice.get\n",  # missing argument
        "WBPLAY-REQUEST 1 read\n0\tservice.get\tname=s:!!!!\n",  # bad base64
        "WBPLAY-REQUEST 1 read\n0\tservice.get\tname=s:VlNU=\n",  # non-canonical base64
        "WBPLAY-REQUEST 1 read\n0\tservice.get\tname=s:/w==\n",  # not UTF-8
        "WBPLAY-REQUEST 1 read\n0\tservice.get\tname=x:VlNT\n",  # unknown tag
        "WBPLAY-REQUEST 1 read\n0\tservice.get\tname=VlNT\n",  # no tag
        "WBPLAY-REQUEST 1 read\n0\tservice.get\tname=s:VlNT\tname=s:VlNT\n",  # repeated
        "WBPLAY-REQUEST 1 read\n0\tservice.get\tName=s:VlNT\n",  # bad name
        "WBPLAY-REQUEST 1 read\n0\tevents.query\tprovider=s:UA==\tmax=i:007\n",  # non-canonical int
        "WBPLAY-REQUEST 1 read\n0\tevents.query\tprovider=s:UA==\tmax=i:+7\n",
        "WBPLAY-REQUEST 1 read\n0\tevents.query\tprovider=s:UA==\tmax=b:2\n",
        "WBPLAY-REQUEST 1 read\n0\tevents.query\tprovider=s:UA==\tlog=n:x\n",
        "WBPLAY-REQUEST 1 read\n0\tservice.get\tname=s:VlNT\u00e9\n",  # not ASCII
    ],
)
def test_decode_request_is_strict(text: str) -> None:
    with pytest.raises(AgentError, match="malformed request"):
        decode_request(text)


def test_decode_request_hands_write_ops_in_a_read_request_to_the_receiver() -> None:
    # encode_request never builds one; the agent refuses it per op (code 5).
    text = "WBPLAY-REQUEST 1 read\n0\tos.info\n1\tservice.start\tname=s:VlNT\n"
    assert decode_request(text) == ("read", [Op("os.info"), Op("service.start", {"name": "VSS"})])


def test_decode_request_positive_control() -> None:
    text = "WBPLAY-REQUEST 1 read\n0\tservice.get\tname=s:VlNT\n"
    assert decode_request(text) == ("read", [Op("service.get", {"name": "VSS"})])


def test_decode_request_accepts_crlf() -> None:
    text = encode_request(ONE_OF_EACH, mode="write").replace("\n", "\r\n")
    assert decode_request(text) == ("write", ONE_OF_EACH)


# --------------------------------------------------------------------- stdin ---


def test_stdin_is_agent_separator_request() -> None:
    data = build_stdin(ONE_OF_EACH, mode="write")
    assert data.isascii()
    assert b"\r" not in data
    agent, request = split_stdin(data)
    assert agent == protocol.agent_script()
    assert request == encode_request(ONE_OF_EACH, mode="write")
    assert decode_request(request) == ("write", ONE_OF_EACH)
    # The bootstrap splits at the first occurrence: the agent must not contain it.
    assert data.count(SEPARATOR.encode("ascii")) == 1


def test_split_stdin_tolerates_crlf() -> None:
    data = build_stdin([Op("os.info")], mode="read").replace(b"\n", b"\r\n")
    agent, request = split_stdin(data)
    assert agent == protocol.agent_script()
    assert decode_request(request) == ("read", [Op("os.info")])


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"no separator here\n",
        b"agent\n" + SEPARATOR.encode() + b"WBPLAY-REQUEST 1 read\n",  # separator not alone on its line
        b"agent\nx" + SEPARATOR.encode() + b"\nWBPLAY-REQUEST 1 read\n",
        "agent \u00e9\n".encode() + SEPARATOR.encode() + b"\nWBPLAY-REQUEST 1 read\n",
    ],
)
def test_split_stdin_refuses_malformed_input(data: bytes) -> None:
    with pytest.raises(AgentError, match="malformed stdin"):
        split_stdin(data)


# ----------------------------------------------------------------- responses ---

SAMPLE_RESULTS = [
    OpResult.success(
        {
            "name": "SDRSVC",
            "display_name": "Sauvegarde Windows \u00e9\u65e5\u672c\U0001f600",
            "start_mode": "Manual",
            "state": "Stopped",
            "depends_on": ["RPCSS"],
            "path": 'C:\\Windows\\system32\\svchost.exe -k "SDRSVC"\t\n\x7f\x00',
        }
    ),
    OpResult.success(None),
    OpResult.success([]),
    OpResult.success({"exists": True, "size": 2**64 - 1, "reparse": False, "neg": -5}),
    OpResult.failure(1058, "Le service ne peut pas \u00eatre d\u00e9marr\u00e9."),
]


def test_response_round_trips_and_is_printable_ascii() -> None:
    text = encode_response(SAMPLE_RESULTS)
    lines = text.split("\r\n")
    assert lines[0] == "<<<WBPLAY-BEGIN>>>"
    assert lines[2] == "<<<WBPLAY-END>>>"
    assert lines[3] == ""
    assert re.fullmatch(r"[\x20-\x7e]*", lines[1])
    assert decode_response(text.encode("ascii"), len(SAMPLE_RESULTS)) == SAMPLE_RESULTS


def test_response_golden() -> None:
    text = encode_response(
        [
            OpResult.success({"a": '\u00fc\U0001f600"\\\n\x7f', "n": [1, None, True]}),
            OpResult.failure(1058, "x"),
        ]
    )
    assert text == (
        "<<<WBPLAY-BEGIN>>>\r\n"
        '{"v":1,"results":[{"ok":true,"value":{"a":"\\u00fc\\ud83d\\ude00\\"\\\\\\u000a\\u007f",'
        '"n":[1,null,true]}},{"ok":false,"error":{"code":1058,"message":"x"}}]}\r\n'
        "<<<WBPLAY-END>>>\r\n"
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(json_values, max_size=4))
def test_any_value_survives_the_response_frame(values: list[Any]) -> None:
    results = [OpResult.success(v) for v in values]
    text = encode_response(results)
    assert re.fullmatch(r"[\x20-\x7e\r\n]*", text)
    assert json.loads(text.split("\r\n")[1])["results"][0:1] == [{"ok": True, "value": v} for v in values[:1]]
    assert decode_response(text.encode("ascii"), len(results)) == results


@pytest.mark.parametrize("value", [1.5, float("nan"), object(), {1: "a"}, b"bytes"])
def test_encode_response_refuses_what_the_agent_never_sends(value: Any) -> None:
    with pytest.raises(ValueError):
        encode_response([OpResult.success(value)])


def _framed(results: list[OpResult]) -> bytes:
    return encode_response(results).encode("ascii")


RESULTS = [OpResult.success({"x": "\u00e9"}), OpResult.failure(5, "Access is denied.")]


@pytest.mark.parametrize(
    "stdout",
    [
        pytest.param(_framed(RESULTS), id="plain"),
        pytest.param(b"\xef\xbb\xbf" + _framed(RESULTS), id="utf8-bom"),
        pytest.param(b"\xff\xfe" + encode_response(RESULTS).encode("utf-16-le"), id="utf16-bom"),
        pytest.param(encode_response(RESULTS).encode("utf-16-le"), id="utf16-no-bom"),
        pytest.param(
            "Windows PowerShell\r\nCopyright (C) Microsoft \u00a9\r\n".encode("cp437", "replace")
            + b"\xef\xbb\xbf"
            + _framed(RESULTS)
            + b"profile says bye\r\n",
            id="noise-and-mid-stream-bom",
        ),
        pytest.param(_framed(RESULTS).replace(b"\r\n", b"\n"), id="lf"),
        pytest.param(
            _framed(RESULTS).replace(b'"Access is', b'"Access\r\n is').replace(b'{"v":1', b'{"v"\r\n:1'),
            id="console-wrapped",
        ),
    ],
)
def test_decode_response_tolerates_encodings_and_noise(stdout: bytes) -> None:
    assert decode_response(stdout, 2) == RESULTS


@pytest.mark.parametrize(
    ("stdout", "expected", "message"),
    [
        (b"", 1, "no response frame"),
        (
            b"Get-WmiObject : Invalid class\r\n",
            1,
            "no response frame; stdout: 'Get-WmiObject : Invalid class'",
        ),
        (b"<<<WBPLAY-BEGIN>>>\r\n{}\r\n", 1, "no response frame"),
        (b"<<<WBPLAY-BEGIN>>>\r\n{not json\r\n<<<WBPLAY-END>>>\r\n", 1, "not valid JSON"),
        (b'<<<WBPLAY-BEGIN>>>\r\n{"v":1,"results":[NaN]}\r\n<<<WBPLAY-END>>>\r\n', 1, "not valid JSON"),
        (b'<<<WBPLAY-BEGIN>>>\r\n{"v":2,"results":[]}\r\n<<<WBPLAY-END>>>\r\n', 0, "unknown version"),
        (b'<<<WBPLAY-BEGIN>>>\r\n{"v":1}\r\n<<<WBPLAY-END>>>\r\n', 0, "no results"),
        (_framed([OpResult.success(1)]), 2, "answered 1 ops, 2 were sent"),
        (
            encode_fatal("wbplay agent: bad header").encode("ascii"),
            1,
            "could not run: wbplay agent: bad header",
        ),
        (b'<<<WBPLAY-BEGIN>>>\r\n{"v":1,"results":[{"ok":1}]}\r\n<<<WBPLAY-END>>>\r\n', 1, "malformed"),
        (b'<<<WBPLAY-BEGIN>>>\r\n{"v":1,"results":[{"ok":true}]}\r\n<<<WBPLAY-END>>>\r\n', 1, "no value"),
        (
            b'<<<WBPLAY-BEGIN>>>\r\n{"v":1,"results":[{"ok":false,"error":{"code":"5"}}]}\r\n<<<WBPLAY-END>>>\r\n',
            1,
            "malformed error",
        ),
    ],
)
def test_decode_response_failures(stdout: bytes, expected: int, message: str) -> None:
    with pytest.raises(AgentError, match=re.escape(message)):
        decode_response(stdout, expected)


def test_decode_response_error_quotes_a_short_excerpt_and_stderr() -> None:
    stdout = b"line one\r\n" + b"x" * 5000
    with pytest.raises(AgentError) as info:
        decode_response(stdout, 1, stderr=WRITE_ERROR)
    message = str(info.value)
    assert len(message) < 500
    assert "line one" in message
    assert "stderr: 'Write-Error" in message


def test_bootstrap_fatal_frame_is_a_clear_error() -> None:
    # What the bootstrap prints when stdin has no separator.
    frame = (
        b"<<<WBPLAY-BEGIN>>>\r\n"
        b'{"v":1,"fatal":{"message":"bootstrap: no request separator on stdin"},"results":[]}\r\n'
        b"<<<WBPLAY-END>>>\r\n"
    )
    with pytest.raises(AgentError, match="could not run: bootstrap: no request separator"):
        decode_response(frame, 0)


# -------------------------------------------------------------------- stderr ---

# winrm-protocol.md section 1: real stderr of `Write-Error "Error"` over WinRS.
WRITE_ERROR = (
    b"#< CLIXML\r\n"
    b'<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
    b'<S S="Error">Write-Error "Error" : Error_x000D__x000A_</S>'
    b'<S S="Error">    + CategoryInfo          : NotSpecified: (:) [Write-Error], '
    b"WriteErrorException_x000D__x000A_</S>"
    b'<S S="Error">    + FullyQualifiedErrorId : '
    b"Microsoft.PowerShell.Commands.WriteErrorException_x000D__x000A_</S>"
    b'<S S="Error"> _x000D__x000A_</S></Objs>'
)
# The first-use module progress record (PowerShell 3+), with rc 0 and nothing wrong.
PROGRESS = (
    b"#< CLIXML\r\n"
    b'<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
    b'<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T>'
    b'<T>System.Object</T></TN><MS><I64 N="SourceId">1</I64><PR N="Record">'
    b"<AV>Preparing modules for first use.</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC>"
    b"<T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj></Objs>"
)
WRITE_ERROR_TEXT = (
    'Write-Error "Error" : Error\n'
    "    + CategoryInfo          : NotSpecified: (:) [Write-Error], WriteErrorException\n"
    "    + FullyQualifiedErrorId : Microsoft.PowerShell.Commands.WriteErrorException"
)


def test_clean_stderr_write_error() -> None:
    assert clean_stderr(WRITE_ERROR) == WRITE_ERROR_TEXT


def test_clean_stderr_drops_progress() -> None:
    assert clean_stderr(PROGRESS) == ""


def test_clean_stderr_several_blocks_and_bom() -> None:
    assert clean_stderr(b"\xef\xbb\xbf" + PROGRESS + b"\r\n" + WRITE_ERROR) == WRITE_ERROR_TEXT


def test_clean_stderr_progress_and_error_in_one_block() -> None:
    mixed = PROGRESS.replace(
        b"</Obj></Objs>", b'</Obj><S S="Error">boom &lt;here&gt; &amp; there_x000D__x000A_</S></Objs>'
    )
    assert clean_stderr(mixed) == "boom <here> & there"


def test_clean_stderr_keeps_only_errors() -> None:
    block = (
        b'#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
        b'<S S="warning">careful_x000D__x000A_</S><S S="verbose">chatty</S><S S="Error">bad</S></Objs>'
    )
    assert clean_stderr(block) == "bad"


def test_clean_stderr_unescapes() -> None:
    block = (
        b'#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
        b'<S S="Error">quote _x0022_x_x0022_, smile _xD83D__xDE00_, literal _x005F_x0041_</S></Objs>'
    )
    assert clean_stderr(block) == 'quote "x", smile \U0001f600, literal _x0041_'


def test_clean_stderr_truncated_xml_falls_back() -> None:
    truncated = WRITE_ERROR[: WRITE_ERROR.index(b'<S S="Error"> _x000D_')] + b"</Objs>"
    broken = truncated.replace(b'<S S="Error">    + FullyQualified', b'<S S="Error"><    + FullyQualified')
    assert clean_stderr(broken).startswith('Write-Error "Error" : Error\n')


def test_clean_stderr_plain_text_passes_through() -> None:
    assert (
        clean_stderr(b"The term 'x' is not recognized\r\nline 2\r\n")
        == "The term 'x' is not recognized\nline 2"
    )
    assert clean_stderr("caf\u00e9".encode("utf-16-le").join([b"\xff\xfe", b""])) == "caf\u00e9"
    assert clean_stderr(b"") == ""


def test_clean_stderr_keeps_native_text_between_blocks() -> None:
    assert (
        clean_stderr(b"#< CLIXML\r\nboom-console\r\n" + PROGRESS[len(b"#< CLIXML\r\n") :]) == "boom-console"
    )


def test_a_value_cannot_fake_the_frame_markers() -> None:
    """Host data (a file name, an event message) holding a marker must not end the frame early."""
    from wbplay.agent.protocol import decode_response, encode_response
    from wbplay.vocab.ops import OpResult

    results = [OpResult.success("<<<WBPLAY-END>>>"), OpResult.success({"msg": "a <<<WBPLAY-BEGIN>>> b"})]
    text = encode_response(results)
    assert text.count("<<<WBPLAY-END>>>") == 1 and text.count("<<<WBPLAY-BEGIN>>>") == 1
    assert decode_response(text.encode("ascii"), 2) == results
