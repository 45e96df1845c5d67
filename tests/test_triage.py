"""wbplay triage: codes in every spelling, pasted messages in English and Japanese, and a PC's events."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from wbplay.cli import app
from wbplay.hosts.sim import SimHost
from wbplay.library import triage
from wbplay.playbook import load as playbook_mod
from wbplay.playbook.model import Playbook
from wbplay.sim.state import builtin_path
from wbplay.vocab import codes


@pytest.fixture(scope="module")
def library() -> list[Playbook]:
    return [playbook_mod.load(p) for p in playbook_mod.library_files()]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0x8007045D", "0x8007045D"),
        ("0x8007045d", "0x8007045D"),
        ("2155348129", "0x807800A1"),  # KB2615182's decimal (docs/domain.md s.3.1 [V])
        (2155348129, "0x807800A1"),
        (-2147023779, "0x8007045D"),  # signed Int32
        ("８００７０４２２", "0x80070422"),  # full-width bare hex
        ("0x00000000", None),
        ("12345", None),
        (True, None),
        (None, None),
    ],
)
def test_normalise(value: object, expected: str | None) -> None:
    assert codes.normalise(value) == expected


def test_codes_in_text() -> None:
    assert codes.codes_in("failed with '2155348129' then (0x800423F4) and 0x800423f4 again") == [
        "0x807800A1",
        "0x800423F4",
    ]
    assert codes.codes_in("エラー（０ｘ８００７０４５Ｄ）") == ["0x8007045D"]
    assert codes.codes_in("Error code 80070422") == ["0x80070422"]
    assert codes.codes_in("sizes 1234567890 KB, 2013-03-27") == []  # below 0x80000000: not an HRESULT


def first(library: list[Playbook], text: str) -> list[str]:
    return [m.playbook_id for m in triage.rank(triage.from_text(text), library)]


@pytest.mark.parametrize(
    ("text", "playbook"),
    [
        ("0x80070422", "fix-0x80070422"),
        ("0x8007045D", "fix-0x8007045d"),
        ("0x8078002A", "check-image-destination"),
        ("0x807800A1", "fix-vss-writers"),
        ("2155348129", "fix-vss-writers"),
        ("0x80780119", "fix-shadow-storage"),
        ("0x81000019", "fix-shadow-storage"),
        ("0x80780166", "fix-backup-settings-not-current"),
        ("0x807800C5", "fix-backup-settings-not-current"),
        ("0x81000031", "fix-0x81000031"),
        # the seed's messages, verbatim, and their translations
        (
            "内部エラーのため、バックアップアプリケーションを開始できませんでした:指定されたサービスは無効であるか、"
            "または有効なデバイスが関連付けられていないため、開始できません。(0x80070422)。",
            "fix-0x80070422",
        ),
        ("I/O デバイスエラーが発生したため、要求を実行できませんでした。", "fix-0x8007045d"),
        ("The request could not be performed because of an I/O device error.", "fix-0x8007045d"),
        ("バックアップ設定が最新の状態でない可能性があります", "fix-backup-settings-not-current"),
        ("Your backup settings might not be current", "fix-backup-settings-not-current"),
        (
            "There is not enough disk space to create the volume shadow copy on the storage location.",
            "fix-shadow-storage",
        ),
        ("Microsoft Remote Desktop (Printer)", "check-easy-print-driver"),
        # issue 12's new playbooks, by code and by the texts Windows shows
        ("0x80070057", "fix-0x80070057"),
        ("The parameter is incorrect. (0x80070057)", "fix-0x80070057"),
        ("Enumeration of the files failed.\nThe parameter is incorrect.", "fix-0x80070057"),
        ("The filename, directory name, or volume label syntax is incorrect", "fix-wsb-target-missing"),
        (
            "The backup operation that started at '2026-11-20T02:00:00Z' has failed because no backup "
            "storage location could be found. Please confirm that the backup storage location is attached "
            "and online, and then rerun the backup operation.",
            "fix-wsb-target-missing",
        ),
        (
            "The backup operation that started at '2026-11-20T02:00:00Z' has failed because the remote "
            "shared folder '\\\\nas\\b' that you are using for a backup storage location is not writeable.",
            "fix-0x80070005",
        ),
        ("0x8078011E", "fix-0x8078011e"),
    ],
)
def test_offline_triage_ranks_the_right_playbook_first(
    library: list[Playbook], text: str, playbook: str
) -> None:
    ranked = first(library, text)
    assert ranked and ranked[0] == playbook, ranked


def test_related_codes_rank_below_the_playbook_they_belong_to(library: list[Playbook]) -> None:
    ranked = triage.rank(triage.from_text("0x8007045D"), library)
    assert [m.playbook_id for m in ranked] == ["fix-0x8007045d", "check-image-destination"]
    assert ranked[0].score > ranked[1].score
    assert "its code" in ranked[0].reasons[0] and "related" in ranked[1].reasons[0]


def test_unrelated_text_matches_nothing(library: list[Playbook]) -> None:
    assert first(library, "hello world, nothing to see") == []
    assert first(library, "エラー") == []  # a word is not a message


def host_triage(name: str, library: list[Playbook]) -> list[triage.Match]:
    path = builtin_path(name)
    assert path is not None
    with SimHost(path, read_only=True) as host:
        evidence, events = triage.read_host(host)
        assert host.round_trips == 1  # one batched read
    return triage.rank(evidence, library, events)


@pytest.mark.parametrize(
    ("pc", "playbook"),
    [
        ("pc42", "fix-0x80070422"),  # Win7 client "Windows Backup" 4104 in Application
        ("srv2019-wbengine-disabled", "fix-0x80070422"),
        ("pc42-io-errors", "fix-0x8007045d"),  # Win7: HRESULT read in decimal
        ("win10-system-writer-failed", "fix-vss-writers"),
        ("win7-system-reserved-full", "fix-shadow-storage"),
        ("win11-stale-imagebackup", "fix-backup-settings-not-current"),
        ("win7-winre-on-usb", "fix-0x81000031"),
        ("win11-relocated-users", "check-user-folders"),  # CAPI2 513 outweighs the generic code
        # issue 12's new cases: each ranks its own playbook first from the PC's own events
        ("srv2019-esp-locked", "fix-0x8078011e"),
        ("srv2019-network-target-denied", "fix-0x80070005"),  # event 564's HRESULT
        ("srv2019-wsb-target-detached", "fix-wsb-target-missing"),  # event 561: no code, its text
        ("srv2019-wsb-target-detached-ja", "fix-wsb-target-missing"),
        ("win10-decimal-comma", "fix-0x80070057"),
        ("win11-decimal-comma-ja", "fix-0x80070057"),
        ("srv2019-decimal-comma", "fix-0x80070057"),
        ("srv2019-imagepath-missing-volume", "fix-0x80070057"),
    ],
)
def test_host_triage(library: list[Playbook], pc: str, playbook: str) -> None:
    ranked = host_triage(pc, library)
    assert ranked[0].playbook_id == playbook, [(m.playbook_id, m.score) for m in ranked]


def test_host_triage_reads_fields_by_name_and_suggests_the_target(library: list[Playbook]) -> None:
    path = builtin_path("win7-target-bad-sectors")
    assert path is not None
    with SimHost(path, read_only=True) as host:
        evidence, events = triage.read_host(host)
    assert evidence[0].code == "0x8007045D" and evidence[0].target == "E:"
    assert any(e["provider"] == "disk" for e in events)
    best = triage.rank(evidence, library, events)[0]
    assert best.playbook_id == "fix-0x8007045d" and best.suggested_vars == {"target": "E:"}
    assert any("disk errors" in r for r in best.reasons)


def test_healthy_pc_has_no_evidence(library: list[Playbook]) -> None:
    assert host_triage("win10-healthy", library) == []


def test_cli_offline_and_host() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["triage", "--error", "0x8007045D"])
    assert result.exit_code == 0, result.output
    assert result.output.index("fix-0x8007045d") < result.output.index("check-image-destination")
    result = runner.invoke(app, ["triage", "--host", "sim:win10-recovery-full"])
    assert result.exit_code == 0, result.output
    assert "fix-shadow-storage" in result.output and "0x80780119" in result.output
    result = runner.invoke(app, ["triage", "--error", "nothing useful here at all"])
    assert result.exit_code == 1 and "No playbook" in result.output
    assert runner.invoke(app, ["triage"]).exit_code == 2


MSLLDP_513 = (
    "Cryptographic Services failed while processing the OnIdentity() call in the System Writer Object.\r\n"
    "Details:\r\nAddLegacyDriverFiles: Unable to back up image of binary Microsoft Link-Layer Discovery "
    "Protocol.\r\nSystem Error:\r\nAccess is denied."
)


def test_the_mslldp_capi2_513_of_every_server_is_not_evidence(library: list[Playbook]) -> None:
    # KB3209092 [V]: benign on every Windows Server; only other 513s point at relocated profiles.
    benign = {"provider": "Microsoft-Windows-CAPI2", "id": 513, "message": MSLLDP_513}
    relocated = {
        "provider": "Microsoft-Windows-CAPI2",
        "id": 513,
        "message": "Cryptographic Services failed while processing the OnIdentity() call in the System "
        "Writer Object.",
    }
    failure = triage.from_text("0x807800A1")
    assert triage.rank(failure, library, [benign])[0].playbook_id == "fix-vss-writers"
    assert triage.rank(failure, library, [benign, relocated])[0].playbook_id == "check-user-folders"


@pytest.mark.parametrize("code", ["0x80780081", "0x8078006B", "0x80780038"])
def test_codes_without_a_known_meaning_are_called_unknown(library: list[Playbook], code: str) -> None:
    # docs/domain-review.md B: no authoritative meaning; ask for the event's ErrorMessage, never guess.
    result = triage.run(error=code, host=None, playbooks=library)
    assert result.matches == () and result.unknown_codes == (code,)
    out = CliRunner().invoke(app, ["triage", "--error", code])
    assert out.exit_code == 1
    assert "no authoritative meaning" in out.output and "ErrorMessage" in out.output
