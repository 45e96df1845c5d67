# ---------------------------------------------------------- command reads ---
# {command_line, exit_code, output} of fixed commands (ops.py); the engine's
# cmdparse reads the text, for the simulator and real PCs alike.

function Get-WbVolumeCommand {
    # chkdsk.scan, chkntfs.query, fsutil.dirty_query, fsutil.ntfsinfo.  An
    # unknown volume is ERROR_FILE_NOT_FOUND, as in the simulator.
    param([string]$Op, [string]$Selector)
    $volume = Get-WbVolumeArg (Resolve-WbVolumeOrFail $Selector)
    switch -casesensitive ($Op) {
        'chkdsk.scan' {
            # Read-only on every version: chkdsk without switches ("Running
            # CHKDSK in read-only mode").  Never /scan: it repairs online and
            # queues the rest for offline repair (chkdsk's help,
            # docs/agent-review.md D1).
            return (Get-WbCommandRead 'chkdsk' @($volume))
        }
        'chkntfs.query' {
            return (Get-WbCommandRead 'chkntfs' @($volume))
        }
        'fsutil.dirty_query' {
            return (Get-WbCommandRead 'fsutil' @('dirty', 'query', $volume))
        }
        'fsutil.ntfsinfo' {
            return (Get-WbCommandRead 'fsutil' @('fsinfo', 'ntfsinfo', $volume))
        }
    }
    throw "internal: no volume command for $Op"
}

function Get-WbBackupVersions {
    # wbadmin get versions [-backupTarget:X: | -backupTarget:\\server\share];
    # an unknown target volume is ERROR_FILE_NOT_FOUND (the simulator prints
    # "no backup" instead).
    param([string]$Target)
    $tokens = @('get', 'versions')
    if ($null -ne $Target -and $Target -cmatch $WbUncTarget) {
        $tokens += ('-backupTarget:' + (Get-WbBackupRoot $Target))
    } elseif ($null -ne $Target -and $Target -ne '') {
        $tokens += ('-backupTarget:' + (Get-WbVolumeArg (Resolve-WbVolumeOrFail $Target)))
    }
    return (Get-WbCommandRead 'wbadmin' $tokens)
}

function Get-WbCbsPath {
    return [IO.Path]::Combine([Environment]::GetEnvironmentVariable('SystemRoot'), 'Logs\CBS\CBS.log')
}

function Open-WbCbsLog {
    # TrustedInstaller keeps CBS.log open for writing (and may rotate it), so
    # it is opened sharing read, write and delete; findstr's read-only
    # sharing trips over it.  $null when there is no CBS.log, or none that
    # opens (gone between the test and the open: New-Object wraps that
    # FileNotFoundException, so the catch takes any failure; either way the
    # caller's outcome is unknown, never success).
    $path = Get-WbCbsPath
    if (-not [IO.File]::Exists($path)) {
        return $null
    }
    try {
        return (New-Object IO.FileStream -ArgumentList $path, ([IO.FileMode]::Open), ([IO.FileAccess]::Read),
            ([IO.FileShare]'ReadWrite, Delete'))
    } catch {
        return $null
    }
}

function Get-WbCbsLength {
    # CBS.log's length before a run, from an open handle (a directory entry
    # can lag behind a file held open for writing); -1 when there is none.
    $fs = Open-WbCbsLog
    if ($null -eq $fs) {
        return [long]-1
    }
    try {
        return [long]$fs.Length
    } finally {
        $fs.Close()
    }
}

function Read-WbCbsSr {
    # The [SR] lines of CBS.log from byte $From on, CRLF-ended ($null: no
    # CBS.log).  A log shorter than $From was rotated (to CbsPersist_*.log)
    # meanwhile, so the new one is read whole; a rotated log that grew past
    # $From again loses the run's first lines, and the verdict then lacks
    # its end marker: unknown, never success.  Read in 1 MB blocks with one
    # regex each, as ReadLine in a PowerShell 2.0 loop takes minutes over a
    # 100 MB log (docs/agent-review.md likely bug 15).
    param([long]$From)
    $fs = Open-WbCbsLog
    if ($null -eq $fs) {
        return $null
    }
    $found = New-Object System.Text.StringBuilder
    try {
        if ($From -lt 0 -or $From -gt $fs.Length) {
            $From = 0
        }
        [void]$fs.Seek($From, [IO.SeekOrigin]::Begin)
        $reader = New-Object IO.StreamReader -ArgumentList $fs, ([Text.Encoding]::Default)
        $buffer = New-Object char[] 1048576
        $rest = ''
        $n = $reader.Read($buffer, 0, $buffer.Length)
        while ($n -gt 0 -or $rest.Length -gt 0) {
            $block = New-Object System.Text.StringBuilder
            [void]$block.Append($rest)
            if ($n -gt 0) {
                [void]$block.Append($buffer, 0, $n)
            }
            $text = $block.ToString()
            $cut = $text.LastIndexOf([char]10)
            if ($n -gt 0 -and $cut -lt $text.Length - 1) {
                $rest = $text.Substring($cut + 1)
                $text = $text.Substring(0, $cut + 1)
            } else {
                $rest = ''
            }
            foreach ($m in [regex]::Matches($text, '[^\n]*\[SR\][^\n]*')) {
                [void]$found.Append($m.Value.TrimEnd([char]13) + "`r`n")
            }
            if ($n -gt 0) {
                $n = $reader.Read($buffer, 0, $buffer.Length)
            }
        }
    } finally {
        $fs.Close()
    }
    return $found.ToString()
}

function Get-WbCbsLines {
    # What findstr /c:"[SR]" prints from CBS.log (KB928228), read here with
    # Read-WbCbsSr.  Exit code as findstr's: 0 some lines, 1 none (or no log).
    $text = Read-WbCbsSr 0
    $exit = 1
    if ($null -ne $text -and $text.Length -gt 0) {
        $exit = 0
    } else {
        $text = ''
    }
    return (ConvertTo-WbJsonObject @(
            'command_line', (ConvertTo-WbJsonString 'findstr /c:"[SR]" %windir%\Logs\CBS\CBS.log'),
            'exit_code', (ConvertTo-WbJsonNumber $exit),
            'output', (ConvertTo-WbJsonString $text)))
}

function Get-WbSfcVerify {
    # sfc /verifyonly as a command read, plus cbs: the [SR] lines CBS.log
    # gained during the run, which the engine judges by (cmdparse.sfc_run:
    # CBS.log is not localized; the console text is, and French writes
    # "100 %", docs/agent-review.md likely bug 10).
    $from = Get-WbCbsLength
    $run = Invoke-WbNative -Name 'sfc' -Tokens @('/verifyonly') -Unicode
    return (ConvertTo-WbJsonObject @(
            'command_line', (ConvertTo-WbJsonString $run.Line),
            'exit_code', (ConvertTo-WbJsonNumber $run.ExitCode),
            'output', (ConvertTo-WbJsonString $run.Output),
            'cbs', (ConvertTo-WbJsonString (Read-WbCbsSr $from))))
}

# ------------------------------------------------------------------ repairs ---
# Irreversible: each does what its op says and nothing more (ops.py).

function Get-WbChkdskSwitch {
    param([string]$Mode)
    if ($Mode -ceq 'f') {
        return '/F'
    }
    if ($Mode -ceq 'r') {
        return '/R'
    }
    throw (New-WbFailure 87 "mode must be 'f' or 'r', not '$Mode'")
}

function Test-WbRepairScheduled {
    # BootExecute already runs autochk on the volume with $Flag ('r' for
    # what "chkdsk X: /R" and Y leave there, "autocheck autochk /r \??\X:";
    # '' for any flag, /p included, which /F leaves).
    param($Volume, [string]$Flag)
    $name = '\??\' + (Get-WbVolumeArg $Volume).Replace('\\?\', '')
    $entries = Get-WbHklmValue 'SYSTEM\CurrentControlSet\Control\Session Manager' 'BootExecute'
    foreach ($entry in @($entries)) {
        $text = [string]$entry
        if ($text -notmatch '^\s*autocheck\s+autochk\s' -or
            -not $text.TrimEnd().EndsWith($name, [StringComparison]::OrdinalIgnoreCase)) {
            continue
        }
        if ($Flag -eq '' -or $text -match ('(^|\s)/' + $Flag + '(\s|$)')) {
            return $true
        }
    }
    return $false
}

function Test-WbChkdskScheduled {
    # Whether autochk will check the volume at the next boot as $Switch asks:
    # /R needs its BootExecute entry; /F is also met by any entry for the
    # volume or by its dirty bit, which autochk checks at every boot (KB160963).
    param([string]$Selector, [string]$Switch)
    if (Test-WbRepairScheduled (Resolve-WbVolumeOrFail $Selector) 'r') {
        return $true
    }
    if ($Switch -ceq '/R') {
        return $false
    }
    $WbState.Volumes = $null
    $v = Resolve-WbVolumeOrFail $Selector
    return ((Test-WbRepairScheduled $v '') -or [bool]$v.Dirty)
}

# chkdsk's two questions, told apart by their words (ASCII here: \u escapes
# for Japanese, [U] wording).  The same patterns are wbplay.vocab.prompts'
# DISMOUNT_WORDS / RESTART_WORDS, which the simulator answers by.
$WbChkdskDismountWords = '(?i)dismount|\u30DE\u30A6\u30F3\u30C8'
$WbChkdskRestartWords = '(?i)restart|\u518D\u8D77\u52D5'

function Get-WbChkdskQuestion {
    # 'dismount', 'restart', or '' for a prompt that is neither or both: the
    # text since the last answer must name exactly one of them.
    param([string]$Text)
    $dismount = $Text -match $WbChkdskDismountWords
    $restart = $Text -match $WbChkdskRestartWords
    if ($dismount -and -not $restart) {
        return 'dismount'
    }
    if ($restart -and -not $dismount) {
        return 'restart'
    }
    return ''
}

function Get-WbPromptReply {
    # $true (yes) or $false (no) for one prompt, whose text since the last
    # answer is $Text; throws to stop the tool.  Policy 'no' declines every
    # question (chkdsk.run).  Policy 'chkdsk-schedule' answers N to "force a
    # dismount?" (however often it is asked) and Y, once, to "check at the
    # next restart?"; a prompt it does not recognise, the restart question
    # asked again after its Y, or more than 4 prompts stop chkdsk: nothing
    # is guessed (docs/agent-review.md D2).
    param([string]$Policy, [string]$Text, $Dialog)
    $Dialog.Prompts = [int]$Dialog.Prompts + 1
    if ($Policy -ceq 'no') {
        return $false
    }
    if ($Policy -cne 'chkdsk-schedule') {
        throw "internal: no prompt policy '$Policy'"
    }
    $kind = Get-WbChkdskQuestion $Text
    $Dialog.Kinds = ([string]$Dialog.Kinds + ' ' + $kind).Trim()
    $last = Get-WbLastLine $Text
    if ($Dialog.Prompts -gt 4) {
        throw (New-WbFailure 1 ('chkdsk asked more questions than expected and was stopped: ' + $last))
    }
    if ($kind -ceq 'dismount') {
        return $false
    }
    if ($kind -ceq 'restart') {
        if ([int]$Dialog.Yes -gt 0) {
            throw (New-WbFailure 1 ('chkdsk asked again whether to check at the next restart and was stopped: ' + $last))
        }
        $Dialog.Yes = [int]$Dialog.Yes + 1
        return $true
    }
    throw (New-WbFailure 1 ('chkdsk asked a question wbplay does not recognise and was stopped: ' + $last))
}

function Register-WbChkdsk {
    # chkdsk X: /F|/R, answering N to "force a dismount?" and Y to "check the
    # next time the system restarts?" (ops.py), each recognised by its words
    # (Get-WbPromptReply).  chkdsk asks only the second for the boot volume.
    # Any other volume it might lock and check NOW, so the agent holds its
    # root folder open meanwhile: the lock fails and the questions come.
    # Success is what Windows then says, not what the agent answered: the
    # check must be scheduled afterwards (docs/agent-review.md D3).
    param([string]$Selector, [string]$Mode)
    $switch = Get-WbChkdskSwitch $Mode
    $v = Resolve-WbVolumeOrFail $Selector
    if ($switch -ceq '/F' -and (Test-WbRepairScheduled $v 'r')) {
        return 'null'
    }
    if (-not $v.Boot -and -not (Import-WbNative)) {
        throw (New-WbFailure 50 'cannot hold the volume open, so chkdsk might check it now instead of at restart')
    }
    $handle = [IntPtr]::Zero
    try {
        if (-not $v.Boot) {
            $root = $v.Path
            if ($null -ne $v.Letter) {
                $root = $v.Letter + '\'
            }
            $handle = [WbPlay.Native]::Open($root, $true)
        }
        $run = Invoke-WbNative -Name 'chkdsk' -Tokens @((Get-WbVolumeArg $v), $switch) -Policy 'chkdsk-schedule' -IdleSeconds 120
    } finally {
        if ($handle -ne [IntPtr]::Zero) {
            [void][WbPlay.Native]::CloseHandle($handle)
        }
    }
    if ($run.Yes -lt 1) {
        throw (New-WbFailure 1 ('chkdsk did not offer to check at the next restart: ' + (Get-WbLastLine $run.Output)))
    }
    if (-not (Test-WbChkdskScheduled $Selector $switch)) {
        throw (New-WbFailure 1 ('chkdsk was answered Y but no check is scheduled for the next restart: ' + (Get-WbLastLine $run.Output)))
    }
    return 'null'
}

function Invoke-WbChkdskNow {
    # chkdsk X: /F|/R /X now.  Boot, system and page-file volumes cannot be
    # locked: 32, as in the simulator, without starting chkdsk.  Every
    # question is answered N: should the lock fail anyway, that refuses the
    # restart-time check chkdsk offers (a failed run with a question asked:
    # 32); on FAT it also declines "convert lost chains to files", as /F does
    # unattended.
    param([string]$Selector, [string]$Mode)
    $switch = Get-WbChkdskSwitch $Mode
    $v = Resolve-WbVolumeOrFail $Selector
    if ($v.Boot -or $v.System -or $v.PageFile) {
        throw (New-WbFailure 32)
    }
    # stdin stays open so that a question gets a plain N; a prompt the
    # "(Y/N)" pattern misses would block chkdsk, so a run silent for 30
    # minutes is stopped (a /R stage on a huge disk still prints progress).
    $run = Invoke-WbNative -Name 'chkdsk' -Tokens @((Get-WbVolumeArg $v), $switch, '/X') -Policy 'no' -IdleSeconds 1800
    # chkdsk.md: 0 no errors, 1 fixed, 2 cleanup done; 3 could not check or fix.
    if ($run.ExitCode -lt 0 -or $run.ExitCode -gt 2) {
        $code = 1393
        if ($run.Prompts -gt 0) {
            $code = 32
        }
        throw (New-WbFailure $code ('chkdsk exit code ' + $run.ExitCode + ': ' + (Get-WbLastLine $run.Output)))
    }
    return 'null'
}

function Invoke-WbSfcRepair {
    # sfc /scannow, judged by CBS.log: its exit codes are undocumented
    # (docs/domain.md s.4) and its console text is localized (French writes
    # "100 %"), but its [SR] lines are not (KB928228).  Done when the lines
    # CBS.log gained during the run hold "[SR] Repair complete" (KB954402's
    # sample; unverified: that a clean run writes it too).  No CBS.log, or no
    # end marker, is an unknown outcome and fails the op; what is left
    # corrupt is the engine's verify (sfc.verifyonly).
    $from = Get-WbCbsLength
    $run = Invoke-WbNative -Name 'sfc' -Tokens @('/scannow') -Unicode
    $sr = Read-WbCbsSr $from
    if ($null -eq $sr) {
        throw (New-WbFailure 1 ('no CBS.log to read, so the outcome of sfc /scannow is unknown: ' +
                (Get-WbLastLine $run.Output)))
    }
    if ($sr.IndexOf('[SR] Repair complete', [StringComparison]::Ordinal) -lt 0) {
        throw (New-WbFailure 1 ('CBS.log gained no "[SR] Repair complete", so the outcome of sfc /scannow is unknown: ' +
                (Get-WbLastLine $run.Output)))
    }
    return 'null'
}

function Invoke-WbDismRepair {
    # DISM /Online /Cleanup-Image /RestoreHealth (Windows 8+: "first run the
    # inbox DISM tool prior to running the System File Checker", KB929833).
    # DISM exits with 0 or the HRESULT of what failed (0x800F081F: no source).
    $run = Invoke-WbNative -Name 'dism' -Tokens @('/Online', '/Cleanup-Image', '/RestoreHealth')
    if ($run.ExitCode -ne 0) {
        throw (New-WbFailure ([long]$run.ExitCode -band 4294967295) ('DISM: ' + (Get-WbLastLine $run.Output)))
    }
    return 'null'
}

function Set-WbWinre {
    # reagentc /enable | /disable (KB975692: /enable "might fail").  A PC
    # without reagentc has no WinRE to switch: 50, as in the simulator.
    param([string]$Switch)
    try {
        [void](Get-WbSystemExe 'reagentc')
    } catch {
        throw (New-WbFailure 50 'this PC has no reagentc.exe (Windows RE)')
    }
    $run = Invoke-WbNative -Name 'reagentc' -Tokens @($Switch)
    if ($run.ExitCode -ne 0) {
        # reagentc exits with the Win32 code or HRESULT of what failed.
        $code = [long]$run.ExitCode
        if ($code -lt 0) {
            $code += 4294967296
        }
        throw (New-WbFailure $code ('reagentc ' + $Switch + ': ' + (Get-WbLastLine $run.Output)))
    }
    return 'null'
}
