"""chkdsk on a real PC: the review's D1-D3 (docs/agent-review.md) and the fixes' parity.

No PowerShell here, so the agent is checked by what its source says (the only call
shapes it may use) and the simulator, which holds the same answering rules, is checked by
what it does: a read never runs ``/scan``; chkdsk.schedule answers each question by its
words, never by its place, and fails unless the check is scheduled afterwards.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

import pwsh_lint
from wbplay.agent import script
from wbplay.sim.executor import execute
from wbplay.sim.model import HostModel
from wbplay.sim.state import load_host_model
from wbplay.sim.text.chkdsk import schedule_prompt
from wbplay.vocab import cmdparse, prompts
from wbplay.vocab.ops import OP_SPECS, Op

LOCALES = ["en-US", "ja-JP"]


@pytest.fixture(scope="module")
def code() -> str:
    return pwsh_lint.strip_comments(script.agent_source())


def _function(code: str, name: str) -> str:
    start = code.index(f"function {name} {{")
    end = code.find("\nfunction ", start + 1)
    return code[start : end if end > 0 else len(code)]


def _ps_string(code: str, variable: str) -> str:
    m = re.search(rf"^\${variable} = '([^']*)'$", code, re.MULTILINE)
    assert m, variable
    return m.group(1)


def pc(name: str, locale: str = "en-US") -> HostModel:
    m = load_host_model(name)
    m.os["locale"] = locale
    return m


def chkntfs_scheduled(m: HostModel, volume: str) -> bool:
    out = execute(m, Op("chkntfs.query", {"volume": volume}))
    assert out.ok and isinstance(out.value, dict)
    return bool(cmdparse.chkntfs(out.value["output"])["scheduled"])


# ------------------------------------------------------------------ D1: /scan ---


def test_no_agent_command_runs_chkdsk_scan(code: str) -> None:
    # /scan repairs online; the read-only scan is chkdsk X: with no switch (D1).
    assert "'/scan'" not in code.lower()
    scan = _function(code, "Get-WbVolumeCommand")
    assert "Get-WbCommandRead 'chkdsk' @($volume))" in scan


@pytest.mark.parametrize("name", ["win7-healthy", "win10-healthy", "win11-healthy", "srv2019-healthy"])
def test_sim_chkdsk_scan_is_read_only_on_every_version(name: str) -> None:
    m = pc(name)
    out = execute(m, Op("chkdsk.scan", {"volume": "C:"}))
    assert out.ok and isinstance(out.value, dict)
    assert out.value["command_line"] == "chkdsk C:"
    assert "Running CHKDSK in read-only mode." in out.value["output"]


# ---------------------------------------------------- D2: BOM, answers by words ---


def test_the_process_starts_only_with_a_bom_free_stdin(code: str) -> None:
    # .NET writes Console.InputEncoding's preamble into the child's stdin at Start() (D2).
    starts = re.findall(r"\$(\w+)\.Start\(\)", code)
    helper = _function(code, "Start-WbProcess")
    assert sorted(starts) == ["Proc", "sc"]  # $sc is a ServiceController
    assert "[void]$Proc.Start()" in helper
    assert helper.index("[Console]::InputEncoding = $stdinEncoding") < helper.index("$Proc.Start()")
    assert "GetPreamble().Length -gt 0" in helper and "New-WbFailure 50" in helper
    assert "Start-WbProcess $proc" in _function(code, "Invoke-WbNative")
    # Likely bug 4: the shell's OutputEncoding is never the decoder, nor changed.
    assert "[Console]::OutputEncoding =" not in code
    assert "$encoding = [Console]::OutputEncoding" not in code


def test_answers_come_from_the_prompt_not_its_position(code: str) -> None:
    native = _function(code, "Invoke-WbNative")
    assert "$Answers" not in code
    assert "Get-WbPromptReply $Policy $unseen $dialog" in native
    assert "-Policy 'chkdsk-schedule'" in _function(code, "Register-WbChkdsk")
    assert "-Policy 'no' -IdleSeconds" in _function(code, "Invoke-WbChkdskNow")  # likely bug 6


def test_agent_and_simulator_recognise_questions_by_the_same_words(code: str) -> None:
    assert _ps_string(code, "WbChkdskDismountWords") == prompts.DISMOUNT_WORDS
    assert _ps_string(code, "WbChkdskRestartWords") == prompts.RESTART_WORDS


@pytest.mark.parametrize("locale", LOCALES)
def test_each_question_is_recognised_in_each_language(locale: str) -> None:
    m = pc("pc42-io-errors", locale)
    assert prompts.question(schedule_prompt(m, "dismount")) == "dismount"
    assert prompts.question(schedule_prompt(m, "restart")) == "restart"
    assert prompts.question(schedule_prompt(m, "lost-chains")) == ""
    both = schedule_prompt(m, "dismount") + schedule_prompt(m, "restart")
    assert prompts.question(both) == ""  # two questions in one unseen text: not guessed


@pytest.mark.parametrize(
    ("kinds", "answers", "stopped"),
    [
        (["dismount", "restart"], (False, True), None),
        (["restart"], (True,), None),  # the boot volume
        (["dismount", "dismount", "restart"], (False, False, True), None),  # re-asked first prompt
        (["restart", "restart"], (True,), "asked again"),  # the Y was not understood
        (["dismount", "other"], (False,), "does not recognise"),
        (["dismount"] * 5, (False,) * 4, "more questions"),
        (["dismount"], (False,), None),  # no Y: the op then fails ("did not offer")
    ],
)
def test_schedule_policy(kinds: list[str], answers: tuple[bool, ...], stopped: str | None) -> None:
    m = pc("pc42-io-errors")
    dialog = prompts.answer_schedule(schedule_prompt(m, k) for k in kinds)
    assert dialog.answers == answers
    assert (dialog.stopped is None) if stopped is None else (stopped in (dialog.stopped or ""))
    # A Y never goes to the dismount question, whatever the order.
    assert all(not yes for k, yes in zip(kinds, dialog.answers, strict=False) if k == "dismount")


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(
    ("quirk", "ok"),
    [
        ({}, True),
        ({"chkdsk_prompts": ["dismount", "dismount", "restart"]}, True),
        ({"chkdsk_prompts": ["restart", "restart"]}, False),
        ({"chkdsk_prompts": ["dismount", "lost-chains"]}, False),
        ({"chkdsk_prompts": ["dismount"]}, False),
        ({"chkdsk_schedule_ignored": True}, False),  # D3
    ],
)
def test_sim_schedule_succeeds_only_when_the_check_is_scheduled(
    locale: str, quirk: dict[str, Any], ok: bool
) -> None:
    m = pc("pc42-io-errors", locale)
    e = next(v for v in m.state["volumes"] if v.get("letter") == "E:")
    e.update(quirk)
    result = execute(m, Op("chkdsk.schedule", {"volume": "E:", "mode": "f"}))
    assert result.ok is ok, result.error
    assert chkntfs_scheduled(m, "E:") is ok


# ------------------------------------------------------- D3: confirmed schedule ---


def test_agent_confirms_the_schedule_after_answering(code: str) -> None:
    register = _function(code, "Register-WbChkdsk")
    assert register.index("Invoke-WbNative") < register.index("Test-WbChkdskScheduled $Selector $switch")
    confirm = _function(code, "Test-WbChkdskScheduled")
    assert "$WbState.Volumes = $null" in confirm  # the dirty bit is read again, not from the cache
    assert "Test-WbRepairScheduled" in confirm and "[bool]$v.Dirty" in confirm


# --------------------------------------------------------- likely bug 10: sfc ---


def test_sfc_is_judged_by_the_cbs_lines_of_its_own_run(code: str) -> None:
    assert "WbSfcDone" not in code and "100" not in _function(code, "Invoke-WbSfcRepair")
    for name in ("Invoke-WbSfcRepair", "Get-WbSfcVerify"):
        body = _function(code, name)
        # The length is taken before sfc runs; only what the log gained after it is read.
        assert body.index("$from = Get-WbCbsLength") < body.index("Invoke-WbNative -Name 'sfc'")
        assert body.index("Invoke-WbNative -Name 'sfc'") < body.index("Read-WbCbsSr $from")
    repair = _function(code, "Invoke-WbSfcRepair")
    assert f"$sr.IndexOf('{cmdparse.SR_REPAIR_DONE}', [StringComparison]::Ordinal) -lt 0" in repair
    assert "if ($null -eq $sr) {\n        throw (New-WbFailure 1" in repair  # no CBS.log: unknown
    assert "'cbs', (ConvertTo-WbJsonString (Read-WbCbsSr $from))" in _function(code, "Get-WbSfcVerify")


def test_cbs_log_is_read_from_the_runs_offset_sharing_writes(code: str) -> None:
    opened = _function(code, "Open-WbCbsLog")
    assert "([IO.FileShare]'ReadWrite, Delete')" in opened and "([IO.FileAccess]::Read)" in opened
    length = _function(code, "Get-WbCbsLength")
    assert "return [long]$fs.Length" in length and "return [long]-1" in length  # from the handle
    read = _function(code, "Read-WbCbsSr")
    # Rotated (shorter than the offset) or absent before the run: read from the start.
    assert "if ($From -lt 0 -or $From -gt $fs.Length) {\n            $From = 0" in read
    assert read.index("[void]$fs.Seek($From, [IO.SeekOrigin]::Begin)") < read.index("$reader.Read(")
    assert "New-Object char[] 1048576" in read and "ReadLine" not in read  # blocks, not lines
    pattern = re.search(r"\[regex\]::Matches\(\$text, '([^']+)'\)", read)
    assert pattern is not None
    log = "a [SR] Verify complete\r\nCBS other\r\nb [SR] Repair complete\r\n"
    assert [m.rstrip("\r") for m in re.findall(pattern.group(1), log)] == [
        "a [SR] Verify complete",
        "b [SR] Repair complete",
    ]


# ------------------------------------------------ likely bugs 1, 2, 14: events ---


def test_events_survive_record_errors_and_chunk_ids(code: str) -> None:
    convert = _function(code, "ConvertTo-WbEventJson")
    assert convert.index("try {") < convert.index("$doc.LoadXml($Record.ToXml())")  # bad XML: one record
    assert "LogsAndProvidersDontOverlap*" in _function(code, "Test-WbNoMatch")
    chunk = _function(code, "Get-WbEventChunk")
    assert "if ($records.Length -gt 0 -or $overlap)" in chunk  # record-level errors keep the records
    events = _function(code, "Get-WbEvents")
    assert "$i += 20" in events and "Get-WbEventChunk $query $max" in events  # KB970453's ~22 clauses


def test_event_names_are_validated_alike(code: str) -> None:
    from wbplay.vocab import ops

    assert _ps_string(code, "WbEventName") == ops.EVENT_NAME_PATTERN
    assert "-cnotmatch $WbEventName" in _function(code, "Get-WbEvents")
    m = pc("win10-healthy")
    for bad in ("Disk']|*", "Microsoft-Windows-*", "x[1]"):
        result = execute(m, Op("events.query", {"provider": bad}))
        assert not result.ok and result.error is not None and result.error.code == 87
    assert execute(m, Op("events.query", {"provider": "Service Control Manager", "log": "System"})).ok


def test_only_here_strings_span_lines_so_indentation_can_go() -> None:
    # script.drop_comment_lines strips indentation on the wire: safe only while no other
    # string literal spans lines (its continuation lines would lose their spaces).
    tree = pwsh_lint.parse(script.agent_source())
    multi = [
        n
        for n in pwsh_lint._walk(tree.root_node)
        if n.type in ("string_literal", "expandable_string_literal") and n.start_point[0] != n.end_point[0]
    ]
    assert all(pwsh_lint._text(n).startswith(("@'", '@"')) for n in multi)
    assert len(script.agent_script()) < 0.85 * len(script.agent_source())


# ------------------------------------------------------- likely bug 3: HKCU ---


def test_hkcu_is_refused_unless_the_accounts_hive_is_loaded(code: str) -> None:
    base = _function(code, "Get-WbBaseKey")
    assert base.index("Assert-WbUserHive") < base.index("[Microsoft.Win32.Registry]::CurrentUser")
    guard = _function(code, "Assert-WbUserHive")
    assert "[Microsoft.Win32.Registry]::Users.OpenSubKey($sid)" in guard and "New-WbFailure 50" in guard
    m = pc("win10-healthy")
    for op, args in (
        ("registry.get", {"key": "HKCU\\Software\\X", "name": "Y"}),
        ("registry.list", {"key": "HKEY_CURRENT_USER\\Software"}),
        ("registry.set", {"key": "HKCU\\Software\\X", "name": "Y", "type": "REG_SZ", "value": "z"}),
    ):
        result = execute(m, Op(op, args))
        assert not result.ok and result.error is not None and result.error.code == 50, op
    assert execute(m, Op("registry.list", {"key": "HKLM\\SOFTWARE"})).ok


# ------------------------------------------------ likely bug 7: delayed start ---


def test_delayed_start_goes_through_the_scm(code: str) -> None:
    setter = _function(code, "Set-WbServiceStartMode")
    assert "DelayedAutostart" not in setter  # never written behind the SCM's back
    assert "Invoke-WbNative -Name 'sc' -Tokens @('config', [string]$svc.Name, 'start=', $flag)" in setter
    assert "$flag = 'delayed-auto'" in setter and "$flag = 'auto'" in setter


# ------------------------------------ likely bugs 8, 9: restart, service waits ---


def test_service_waits_scale_and_are_configurable(code: str) -> None:
    assert "Wait-WbServiceStatus $sc 'Running' $WbState.ServiceWait" in code
    assert not re.search(r"Wait-WbServiceStatus \$sc '\w+' \d", code)  # no fixed number of seconds
    assert "ServiceWait = 120" in code and "$WbState.ServiceWait = 180" in code
    for op in ("service.start", "service.stop", "service.restart"):
        branch = code[code.index(f"'{op}' {{") :]
        assert branch.index("Set-WbServiceWait $a") < branch.index("$value = ")
    assert "wait_s" in {a.name for a in OP_SPECS["service.restart"].args}


def test_the_agent_restart_restores_what_it_stopped(code: str) -> None:
    restart = _function(code, "Restart-WbService")
    # A failed stop is caught, so the starts below still run for what was stopped.
    stops = restart.index("[void](Stop-WbService $sc.ServiceName)")
    assert restart.rindex("try {", 0, stops) < restart.index("foreach ($dependent in $order)") < stops
    assert restart.index("} catch {", stops) < restart.index("[void](Start-WbService $target)")
    # The service's own start is tried twice when the stops went through, once otherwise.
    assert "$tries = 2" in restart and "$tries = 1" in restart
    assert "for ($attempt = 1; $attempt -le $tries; $attempt++)" in restart
    # Each dependent is started and keeps its own code; none is swallowed.
    assert "$codes[[string]$order[$i]] = $err.Code" in restart
    assert "'the restart failed; final states: '" in restart
    assert "(Get-WbServiceStates $names $codes)" in restart
    states = _function(code, "Get-WbServiceStates")
    assert "(Find-WbController ([string]$n)).Status" in states  # read back, not assumed


def _restart(m: HostModel) -> tuple[int | None, str]:
    result = execute(m, Op("service.restart", {"name": "winmgmt"}))
    if result.ok:
        return None, ""
    assert result.error is not None
    return result.error.code, result.error.message


def _states(m: HostModel) -> tuple[str, str]:
    services = m.state["services"]
    return services["Winmgmt"]["state"], services["UALSVC"]["state"]


def test_a_dependent_that_will_not_start_again_is_named_with_its_code() -> None:
    m = pc("srv2019-wmi-writer-failed")
    m.state["services"]["UALSVC"]["start_mode"] = "Disabled"
    code, message = _restart(m)
    assert code == 1058 and "final states: Winmgmt Running, UALSVC Stopped (1058); " in message
    assert _states(m) == ("Running", "Stopped")


def test_a_failed_stop_starts_again_what_was_stopped() -> None:
    m = pc("srv2019-wmi-writer-failed")
    m.state["services"]["Winmgmt"]["fails_to_stop"] = 1053  # UALSVC is stopped first
    code, message = _restart(m)
    assert code == 1053 and "final states: Winmgmt Running, UALSVC Running; " in message
    assert _states(m) == ("Running", "Running")
    writer = next(w for w in m.state["vss_writers"] if w["name"] == "WMI Writer")
    assert writer["state"] != 1  # Winmgmt never stopped: its writer is still failed


def test_a_slow_start_is_tried_again_and_the_dependents_follow() -> None:
    m = pc("srv2019-wmi-writer-failed")
    m.state["services"]["Winmgmt"].update(fails_to_start=1053, fails_to_start_times=1)
    assert _restart(m) == (None, "")
    assert _states(m) == ("Running", "Running")


def test_a_disabled_dependency_leaves_each_service_with_its_own_code() -> None:
    # docs/domain.md s.1: a dependency that cannot start fails the dependent with 1068.
    m = pc("srv2019-wmi-writer-failed")
    m.state["services"]["WbDep"] = {
        "display_name": "A dependency disabled meanwhile",
        "start_mode": "Disabled",
        "state": "Stopped",
    }
    m.state["services"]["Winmgmt"]["depends_on"].append("WbDep")
    code, message = _restart(m)
    assert code == 1068
    assert "final states: Winmgmt Stopped (1068), UALSVC Stopped (1068); " in message
    assert _states(m) == ("Stopped", "Stopped")


# ----------------------------------------------- likely bug 12: UNC targets ---


def test_unc_backup_targets_are_read_alike(code: str) -> None:
    from wbplay.vocab import ops

    assert _ps_string(code, "WbUncTarget") == ops.UNC_TARGET_PATTERN
    assert "Get-WbBackupRoot $Target" in _function(code, "Get-WbBackupCatalog")
    assert "$Target -cmatch $WbUncTarget" in _function(code, "Get-WbBackupVersions")
    m = pc("win7-stale-imagebackup")
    share = "\\\\nas\\backup"
    for path in list(m.state["files"]):
        if path.lower().startswith("e:\\windowsimagebackup"):
            m.state["files"][share + path[2:]] = m.state["files"].pop(path)
    catalog = execute(m, Op("backup.catalog", {"target": share + "\\"}))
    assert catalog.ok and isinstance(catalog.value, dict)
    assert catalog.value["target"] == share
    assert [s["machine"] for s in catalog.value["image_sets"]] == ["WIN7-OLDIMG"]
    versions = execute(m, Op("wbadmin.get_versions", {"target": share}))
    assert versions.ok and isinstance(versions.value, dict)
    assert versions.value["command_line"] == f"wbadmin get versions -backupTarget:{share}"
    for bad in ("\\\\nas\\c$", "\\\\nas\\my share", "\\\\nas"):
        assert ops.unc_target(bad) is None, bad


# ------------------------------------------- likely bug 13: path.delete atomic ---


def test_a_locked_file_leaves_the_tree_whole(code: str) -> None:
    remove = _function(code, "Remove-WbPath")
    assert remove.index("$root.MoveTo($tomb)") < remove.index("$item.Delete()")
    m = pc("win7-stale-imagebackup")
    folder = "E:\\WindowsImageBackup\\WIN7-OLDIMG"
    before = {k for k in m.state["files"] if k.startswith(folder)}
    m.state["files"][folder + "\\Catalog\\GlobalCatalog"]["locked"] = True
    result = execute(m, Op("path.delete", {"path": folder}))
    assert not result.ok and result.error is not None and result.error.code == 32
    assert {k for k in m.state["files"] if k.startswith(folder)} == before
    del m.state["files"][folder + "\\Catalog\\GlobalCatalog"]["locked"]
    assert execute(m, Op("path.delete", {"path": folder})).ok
    assert not any(k.startswith(folder) for k in m.state["files"])


# ------------------------------------------- likely bug 5: the winrs memory quota ---


def test_long_repairs_warn_about_a_small_winrs_quota(code: str) -> None:
    dispatch = _function(code, "Invoke-WbOp")
    guard = "if ($WbState.Live -and $WbWriteOps.ContainsKey($name)) {\n            Write-WbQuotaWarning"
    assert guard in dispatch
    warn = _function(code, "Write-WbQuotaWarning")
    assert "$mb -lt 1024" in warn and "Write-WbLiveText" in warn
    assert "'MaxMemoryPerShellMB'" in _function(code, "Get-WbAgentEnvironment")


# ------------------------------------------ likely bug 15: one machine-name rule ---


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("OLD_PC", True),  # NetBIOS allows "_" (KB909264)
        ("WIN7-OLDIMG", True),
        ("A" * 15, True),
        ("A" * 16, False),  # 15 characters at most
        ("OLD.wbplay-old", False),  # a period: "shouldn't be used"; a quarantined set
        ("MY!PC", False),  # legacy NetBIOS symbols are not DNS host name characters
        ("my pc", False),
    ],
)
def test_image_and_file_sets_accept_the_same_machine_names(code: str, name: str, ok: bool) -> None:
    from wbplay.vocab import ops

    assert _ps_string(code, "WbMachineName") == ops.MACHINE_NAME_PATTERN
    catalog = _function(code, "Get-WbBackupCatalog")
    assert "if ($machine -cmatch $WbMachineName) {" in catalog  # image sets, before wbadmin -machine:
    assert "if ($machine -cnotmatch $WbMachineName) {" in catalog  # file sets
    assert "{1,15}" not in catalog  # no second copy of the rule
    m = pc("win7-stale-imagebackup")
    m.state["files"].update(
        {
            f"E:\\{name}": {"kind": "directory"},
            f"E:\\{name}\\Backup Set 2013-01-01 010101": {"kind": "directory"},
            f"E:\\WindowsImageBackup\\{name}": {"kind": "directory"},
        }
    )
    result = execute(m, Op("backup.catalog", {"target": "E:"}))
    assert result.ok and isinstance(result.value, dict)
    assert (name in [s["machine"] for s in result.value["file_sets"]]) is ok
    assert (name in [s["machine"] for s in result.value["image_sets"]]) is ok
    assert ops.machine_name(name) is ok


def test_volumes_the_storage_provider_misses_are_located_by_ioctl(code: str) -> None:
    where = _function(code, "Get-WbVolumeLocations")
    assert "return $map\n        } catch" not in where  # MSFT_Partition's answer is not final
    fallback = where.index("-not $map.ContainsKey([string]$g)) {")
    assert where.index("MSFT_Partition") < fallback < where.index("[WbPlay.Native]::DeviceNumber(")
    assert "foreach ($g in $missing) {" in where  # per volume GUID, only those still unknown
    assert "IOCTL_STORAGE_GET_DEVICE_NUMBER" in script.agent_source()
