"""README.md for the admin who uploads an export: what to set, what each exit code and line means."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from wbplay.library.export.scripts import SIZE_LIMIT, Exported
from wbplay.playbook.model import Playbook

_INTUNE = """\
## Upload (Intune > Devices > Scripts and remediations > Remediations > Create)

- Detection script file: `detect.ps1`; Remediation script file: `remediate.ps1`.
- Run this script using the logged-on credentials: **No** (runs as SYSTEM).
- Enforce script signature check: No (or sign both files yourself).
- Run script in 64-bit PowerShell: **Yes**. In 32-bit PowerShell on 64-bit Windows, System32 and
  HKLM\\Software are redirected; both scripts then refuse with one line and exit 1 rather than
  read the wrong registry.

Sources: the exit-code contract, the SYSTEM / 64-bit options and the 2,048-character output cap are
Microsoft's Remediations page (MicrosoftDocs/memdocs `intune/intune-service/fundamentals/remediations.md`,
summarised in wbplay's docs/domain-review.md C.3). That the portal keeps the *last* line, and the
200 KB script limit, were found only in third-party sources (IntuneScriptLab's rules
Find-IslOutputIssue and Find-IslScriptSize on the PowerShell Gallery, which quote Microsoft Learn
for 200 KB); the 32-bit default's redirection is EUCPilots/vcredist#51 (third party).

## What the detection script says

Exit **1**: at least one step drifted and its remedy is in `remediate.ps1` (Intune then runs
the remediation, and detection again). Exit **0**: nothing to remediate. Exit **3**: the script
itself failed (the line says why). Anything but 1 means "issue not found" to Intune, so read the
line: steps that need a human or consent are listed after `|` with exit 0.

The one line (Intune keeps the last line of output, at most 2,048 characters; the scripts keep
it under 2,000) reads, for example:

    {pid}: 1 drift: sdrsvc-start-mode: Disabled (want not Disabled) | manual rpcss-running: ...

## What the remediation script does

It reads every check again (nothing is shared with detection), records the before-state, applies
each drifted step's remedy in playbook order, verifies it, and on the first failure undoes what it
changed, newest first, in the same run. Exit **0**: every change applied and verified. Exit **1**:
a change failed and was rolled back. Exit **2**: the rollback failed too (look at the PC).
Exit **3**: the script failed before changing anything. Nothing is written to stderr.

Its journal is JSON Lines, the events of wbplay's own journal (`run.start`, `change.intent`,
`change.done` / `change.failed`, `step.verify`, `undo.*`, `run.end`), in
`%ProgramData%\\wbplay\\runs\\<run id>.jsonl`. From the controller: `wbplay log --host PC` lists
them and `wbplay rollback RUN --host PC` undoes one.

## Reading the results

Export the remediation's device status (portal CSV, or Graph
`deviceHealthScripts/{id}/deviceRunStates?$expand=managedDevice` as JSON) and run
`wbplay results import FILE [--report md:FILE]`: the PCs grouped as compliant / fixed / failed /
recurred by the detection line above.
"""

_CONFIGMGR = """\
## Configuration item (Configuration Manager)

Create a configuration item with a **Script** setting, data type **String**, language
**Windows PowerShell**: discovery script `discovery.ps1`, remediation script `remediation.ps1`.
Compliance rule: the value returned by the script **Equals** `Compliant`, with "Run the specified
remediation script when this setting is noncompliant" ticked (remediation only works with Equals).
Tick "Run scripts by using the logged on user credentials": **no** (SYSTEM), and 64-bit
(`Add-CMComplianceSettingScript -Is64Bit`).

Sources: Microsoft's "Create custom configuration items for Windows desktop and server computers
managed with the Configuration Manager client" (learn.microsoft.com/mem/configmgr/compliance/
deploy-use/) and the `Add-CMComplianceSettingScript` cmdlet reference (DiscoveryScript*,
RemediationScript*, `-Is64Bit`, `-ExpectedValue`, `-ExpressionOperator`), as summarised in wbplay's
docs/domain-review.md C.4; throwing to report a failure and the 60 s default timeout are from the
same review's sources.

The discovery script prints `Compliant`, or the drift line (what drifted, what a human must do).
The remediation script behaves as the Intune one, and a failure is reported by **throwing**
(a non-zero exit code is not enough for Configuration Manager). The default script timeout is
60 seconds; raise it in the client settings if the PC is slow.
"""


def _table(scripts: Sequence[Exported]) -> str:
    rows = "\n".join(f"| `{s.name}` | {s.size:,} bytes |" for s in scripts)
    limit = f"Limit checked at export: {SIZE_LIMIT:,} bytes (200 KB).\n"
    return f"| script | size |\n|---|---|\n{rows}\n\n{limit}"


def _reported(reported: Mapping[str, str]) -> str:
    if not reported:
        return (
            "None: every step of the playbook is checked (and, where it has a remedy, applied) unattended.\n"
        )
    lines = [
        "These steps are not checked by the scripts: detection lists them as `not checked STEP` after",
        "`|` and remediation never touches them. Run the playbook with wbplay over WinRM for them.\n",
    ]
    lines += [f"- `{sid}`: {why}" for sid, why in reported.items()]
    return "\n".join(lines) + "\n"


def readme(
    playbook: Playbook,
    engine: str,
    scripts: Sequence[Exported],
    left_out: Sequence[str],
    manual: Sequence[str],
    reported: Mapping[str, str],
) -> str:
    body = _INTUNE if engine == "intune" else _CONFIGMGR
    parts = [
        f"# {playbook.id}: {playbook.title}\n",
        "Exported by `wbplay export`. Both scripts are self-contained PowerShell (2.0 and later):\n"
        "wbplay's agent plus this playbook as data (one base64 line).\n"
        "Re-export after changing the playbook.\n",
        body.replace("{pid}", playbook.id),
        "## Steps never run unattended\n",
        "- Manual steps (reported by detection only): " + (", ".join(manual) or "none") + ".",
        "- Irreversible steps left out (export again with `--allow STEP` to include one): "
        + (", ".join(left_out) or "none")
        + ".\n",
        "## Reported-only steps\n",
        _reported(reported),
        "## Sizes\n",
        _table(scripts),
    ]
    return "\n".join(parts)
