# ------------------------------------------------------------ export runner ---
# Runs a compiled playbook on the PC, unattended (Intune / ConfigMgr).  Every
# playbook value is in $WbExportData (base64 of a JSON plan) and is only ever
# data: decoded, compared, or passed to the agent's ops as arguments.

function ConvertFrom-WbExportJson {
    param([string]$Json)
    [void][Reflection.Assembly]::LoadWithPartialName('System.Web.Extensions')
    $serializer = New-Object System.Web.Script.Serialization.JavaScriptSerializer
    $serializer.MaxJsonLength = 67108864
    return ,($serializer.DeserializeObject($Json))
}

function Test-WbNumber {
    param($Value)
    return ($Value -is [int] -or $Value -is [long] -or $Value -is [decimal] -or $Value -is [double])
}

function Test-WbEqual {
    param($Actual, $Expected)
    if ($null -eq $Actual -or $null -eq $Expected) {
        return ($null -eq $Actual -and $null -eq $Expected)
    }
    if ($Actual -is [string] -and $Expected -is [string]) {
        return ($Actual -ceq $Expected)
    }
    if ($Actual -is [bool] -or $Expected -is [bool]) {
        return ($Actual -is [bool] -and $Expected -is [bool] -and $Actual -eq $Expected)
    }
    if ((Test-WbNumber $Actual) -and (Test-WbNumber $Expected)) {
        return ([decimal]$Actual -eq [decimal]$Expected)
    }
    if ($Actual -is [array] -and $Expected -is [array]) {
        if ($Actual.Length -ne $Expected.Length) {
            return $false
        }
        for ($i = 0; $i -lt $Actual.Length; $i++) {
            if (-not (Test-WbEqual $Actual[$i] $Expected[$i])) {
                return $false
            }
        }
        return $true
    }
    return $false
}

function Get-WbOrderKey {
    # A number, or a dotted version as a list of numbers; $null when not comparable.
    param($Value)
    if ($null -eq $Value -or $Value -is [bool]) {
        return $null
    }
    if (Test-WbNumber $Value) {
        return ,@([decimal]$Value)
    }
    $text = [string]$Value
    if ($text.Trim() -match '^[0-9]+(\.[0-9]+)+$') {
        $parts = New-Object System.Collections.ArrayList
        foreach ($p in $text.Trim().Split([char]46)) {
            [void]$parts.Add([decimal]$p)
        }
        return ,($parts.ToArray())
    }
    $number = 0.0
    if ([double]::TryParse($text, [Globalization.NumberStyles]::Float, $WbInvariant, [ref]$number)) {
        if (-not [double]::IsNaN($number) -and -not [double]::IsInfinity($number)) {
            return ,@([decimal]$number)
        }
    }
    return $null
}

function Compare-WbOrdered {
    # -1, 0 or 1; $null when the two cannot be ordered.
    param($Actual, $Expected)
    $a = Get-WbOrderKey $Actual
    $e = Get-WbOrderKey $Expected
    if ($null -eq $a -or $null -eq $e -or (($a.Length -gt 1) -ne ($e.Length -gt 1))) {
        return $null
    }
    $width = [Math]::Max($a.Length, $e.Length)
    for ($i = 0; $i -lt $width; $i++) {
        $x = 0
        $y = 0
        if ($i -lt $a.Length) {
            $x = $a[$i]
        }
        if ($i -lt $e.Length) {
            $y = $e[$i]
        }
        if ($x -lt $y) {
            return -1
        }
        if ($x -gt $y) {
            return 1
        }
    }
    return 0
}

function Test-WbMatchOne {
    param([string]$Op, $Arg, $Actual)
    switch -casesensitive ($Op) {
        'equals' {
            return (Test-WbEqual $Actual $Arg)
        }
        'in' {
            foreach ($item in $Arg) {
                if (Test-WbEqual $Actual $item) {
                    return $true
                }
            }
            return $false
        }
        'not' {
            return (-not (Test-WbMatch $Arg $Actual))
        }
        'matches' {
            if ($null -eq $Actual) {
                return $false
            }
            return [regex]::IsMatch([string]$Actual, [string]$Arg)
        }
        'exists' {
            return (($null -ne $Actual) -eq [bool]$Arg)
        }
        'contains' {
            if ($Actual -is [string]) {
                return ($Arg -is [string] -and $Actual.Contains($Arg))
            }
            if ($Actual -is [array]) {
                foreach ($item in $Actual) {
                    if (Test-WbEqual $item $Arg) {
                        return $true
                    }
                }
            }
            return $false
        }
        'all' {
            foreach ($m in $Arg) {
                if (-not (Test-WbMatch $m $Actual)) {
                    return $false
                }
            }
            return $true
        }
        'any' {
            foreach ($m in $Arg) {
                if (Test-WbMatch $m $Actual) {
                    return $true
                }
            }
            return $false
        }
    }
    $order = Compare-WbOrdered $Actual $Arg
    if ($null -eq $order) {
        return $false
    }
    switch -casesensitive ($Op) {
        'lt' {
            return ($order -lt 0)
        }
        'gt' {
            return ($order -gt 0)
        }
        'lte' {
            return ($order -le 0)
        }
        'gte' {
            return ($order -ge 0)
        }
    }
    return $false
}

function Test-WbMatch {
    param($Matcher, $Actual)
    foreach ($key in @($Matcher.Keys)) {
        if (-not (Test-WbMatchOne ([string]$key) $Matcher[$key] $Actual)) {
            return $false
        }
    }
    return $true
}

function Test-WbCondition {
    param($Cond, $Vars, $Facts, $Statuses)
    if ($null -eq $Cond) {
        return $true
    }
    if ($Cond -is [array]) {
        foreach ($c in $Cond) {
            if (-not (Test-WbCondition $c $Vars $Facts $Statuses)) {
                return $false
            }
        }
        return $true
    }
    $matcher = @{}
    foreach ($key in @($Cond.Keys)) {
        if ($WbMatcherKeys -ccontains [string]$key) {
            $matcher[[string]$key] = $Cond[$key]
        }
    }
    if ($Cond.ContainsKey('var')) {
        return (Test-WbMatch $matcher (Get-WbMember $Vars ([string]$Cond['var'])))
    }
    if ($Cond.ContainsKey('fact')) {
        return (Test-WbMatch $matcher (Get-WbMember $Facts ([string]$Cond['fact'])))
    }
    if ($Cond.ContainsKey('step')) {
        $status = Get-WbMember $Statuses ([string]$Cond['step'])
        return ($null -ne $status -and @($Cond['status']) -ccontains [string]$status)
    }
    if ($Cond.ContainsKey('all')) {
        foreach ($c in $Cond['all']) {
            if (-not (Test-WbCondition $c $Vars $Facts $Statuses)) {
                return $false
            }
        }
        return $true
    }
    if ($Cond.ContainsKey('any')) {
        foreach ($c in $Cond['any']) {
            if (Test-WbCondition $c $Vars $Facts $Statuses) {
                return $true
            }
        }
        return $false
    }
    return (-not (Test-WbCondition $Cond['not'] $Vars $Facts $Statuses))
}

function Get-WbMember {
    # A dictionary's value, or the item of a list at a decimal index; $null when missing.
    param($Value, [string]$Part)
    if ($null -eq $Value) {
        return $null
    }
    if ($Value -is [Collections.IDictionary]) {
        if ($Value.Contains($Part)) {
            return ,($Value[$Part])
        }
        return $null
    }
    if ($Value -is [array] -and $Part -match '^[0-9]+$' -and [int]$Part -lt $Value.Length) {
        return ,($Value[[int]$Part])
    }
    return $null
}

function Invoke-WbExportOp {
    # One op of the embedded requests -> the agent's parsed result (ok, value, error).
    param($Op, [string]$Mode)
    return (ConvertFrom-WbExportJson (Invoke-WbOp $Op $Mode))
}

function Get-WbObserved {
    # The value a check observed from its read, or the read's error message.
    param($Probe, $Results)
    $result = $Results[[int]$Probe['op']]
    if (-not $result['ok']) {
        return @{ Error = [string]$result['error']['message']; Value = $null }
    }
    $value = $result['value']
    $pick = [string]$Probe['pick']
    if ($pick -ceq '=present') {
        $value = ($null -ne $value)
    } elseif ($pick -ceq '=registry') {
        if ($null -ne $value -and $value['exists']) {
            $value = $value['value']
        } else {
            $value = $null
        }
    } elseif ($pick -cne '') {
        $value = Get-WbMember $value $pick
    }
    if ($null -ne $Probe['field']) {
        foreach ($part in ([string]$Probe['field']).Split([char]46)) {
            $value = Get-WbMember $value $part
        }
    }
    return @{ Error = $null; Value = $value }
}

function Get-WbAssessment {
    # Every step judged from one batch of reads, in order (the runner's classify).
    param($Plan, $Reads, $Results)
    $facts = $Results[0]['value']
    $statuses = @{}
    $out = New-Object System.Collections.ArrayList
    foreach ($step in $Plan['steps']) {
        $id = [string]$step['id']
        $r = @{ Id = $id; Status = 'ok'; Observed = $null; Before = $null; Error = $null; Step = $step }
        if (-not (Test-WbCondition $step['when'] $Plan['vars'] $facts $statuses)) {
            $r.Status = 'skipped'
            foreach ($guard in $step['guards']) {
                if ((Get-WbMember $statuses ([string]$guard)) -ceq 'finding') {
                    $r.Status = 'blocked'
                }
            }
        } else {
            $seen = Get-WbObserved $step['check'] $Results
            $r.Observed = $seen.Value
            $r.Error = $seen.Error
            if ($null -eq $r.Error -and $null -ne $step['before']) {
                $prior = Get-WbObserved $step['before'] $Results
                $r.Before = $prior.Value
                $r.Error = $prior.Error
            }
            $remedy = [string]$step['remedy']
            if ($null -ne $r.Error) {
                $r.Status = 'error'
            } elseif (Test-WbMatch $step['expect'] $r.Observed) {
                $r.Status = 'ok'
            } elseif ($remedy -ceq '') {
                $r.Status = 'finding'
            } elseif ($remedy -ceq 'manual') {
                $r.Status = 'manual'
            } else {
                $r.Status = 'drift'
                foreach ($earlier in $step['waits']) {
                    if ((Get-WbMember $statuses ([string]$earlier)) -ceq 'blocked') {
                        $r.Status = 'skipped'
                    }
                }
                if ($r.Status -ceq 'drift' -and -not $step['consented']) {
                    $r.Status = 'blocked'
                }
            }
        }
        if ($r.Status -ceq 'drift') {
            $statuses[$id] = 'fixed'
        } else {
            $statuses[$id] = $r.Status
        }
        [void]$out.Add($r)
    }
    return ,($out.ToArray())
}

function Get-WbReads {
    param($Plan)
    $request = Read-WbRequest ([string]$Plan['reads'])
    $results = New-Object System.Collections.ArrayList
    foreach ($op in $request.Ops) {
        [void]$results.Add((Invoke-WbExportOp $op 'read'))
    }
    return ,($results.ToArray())
}

function Get-WbDriftLine {
    # One line for the portal: what drifted, and what a human must do.
    param($Plan, $Steps)
    $drift = New-Object System.Collections.ArrayList
    $other = New-Object System.Collections.ArrayList
    foreach ($r in $Steps) {
        $what = $r.Id + ': ' + (ConvertTo-WbShown $r.Observed) + ' (want ' + [string]$r.Step['expected'] + ')'
        if ($r.Status -ceq 'drift') {
            [void]$drift.Add($what)
        } elseif ($r.Status -ceq 'manual' -or $r.Status -ceq 'finding' -or $r.Status -ceq 'blocked') {
            [void]$other.Add($r.Status + ' ' + $what)
        } elseif ($r.Status -ceq 'error') {
            [void]$other.Add('error ' + $r.Id + ': ' + [string]$r.Error)
        }
    }
    $line = [string]$Plan['playbook'] + ': ' + [string]$drift.Count + ' drift'
    if ($drift.Count -gt 0) {
        $line += ': ' + [string]::Join('; ', $drift.ToArray())
    }
    if ($other.Count -gt 0) {
        $line += ' | ' + [string]::Join('; ', $other.ToArray())
    }
    $line = $line.Replace([string][char]13, ' ').Replace([string][char]10, ' ')
    if ($line.Length -gt 2000) {
        $line = $line.Substring(0, 1997) + '...'
    }
    return $line
}

function ConvertTo-WbShown {
    param($Value)
    if ($null -eq $Value) {
        return 'nothing'
    }
    if ($Value -is [array]) {
        $items = New-Object System.Collections.ArrayList
        foreach ($v in $Value) {
            [void]$items.Add((ConvertTo-WbShown $v))
        }
        return '[' + [string]::Join(', ', $items.ToArray()) + ']'
    }
    if ($Value -is [bool]) {
        if ($Value) {
            return 'True'
        }
        return 'False'
    }
    return [string]$Value
}

function New-WbWriteOp {
    # The op to run for a remedy, or for its undo given the before-state ($null: nothing to undo).
    param($Spec, $Before)
    if ($null -eq $Spec) {
        return $null
    }
    if ($null -ne $Spec['unless_before'] -and (Test-WbEqual $Before $Spec['unless_before'])) {
        return $null
    }
    if ($null -ne $Spec['only_if_before'] -and -not (Test-WbEqual $Before $Spec['only_if_before'])) {
        return $null
    }
    $opArgs = @{}
    foreach ($key in @($Spec['args'].Keys)) {
        $opArgs[[string]$key] = $Spec['args'][$key]
    }
    if ($null -ne $Spec['before_arg']) {
        if ($null -eq $Before) {
            return $null
        }
        $opArgs[[string]$Spec['before_arg']] = $Before
    }
    return @{ Name = [string]$Spec['op']; Args = $opArgs }
}

function Write-WbJournal {
    # One JSON Lines record, the shape of wbplay's run journal (ts, run, seq, event, fields).
    param([string]$Event, $Fields)
    $WbExport.Seq += 1
    $parts = New-Object System.Collections.ArrayList
    [void]$parts.Add('"ts":' + (ConvertTo-WbJsonString ([DateTime]::UtcNow.ToString('yyyy-MM-ddTHH:mm:ss.fffZ', $WbInvariant))))
    [void]$parts.Add('"run":' + (ConvertTo-WbJsonString $WbExport.Run))
    [void]$parts.Add('"seq":' + [string]$WbExport.Seq)
    [void]$parts.Add('"event":' + (ConvertTo-WbJsonString $Event))
    foreach ($key in @($Fields.Keys)) {
        [void]$parts.Add((ConvertTo-WbJsonString ([string]$key)) + ':' + (ConvertTo-WbExportJson $Fields[$key]))
    }
    $text = '{' + [string]::Join(',', $parts.ToArray()) + '}' + [char]10
    if ($null -ne $WbExport.Path) {
        [IO.File]::AppendAllText($WbExport.Path, $text, (New-Object System.Text.UTF8Encoding($false)))
    }
}

function ConvertTo-WbExportJson {
    param($Value)
    $serializer = New-Object System.Web.Script.Serialization.JavaScriptSerializer
    return $serializer.Serialize($Value)
}

function Invoke-WbChange {
    # Apply one step's remedy and verify it; the record of what to undo is kept either way.
    param($R, $Applied)
    $step = $R.Step
    $op = New-WbWriteOp $step['apply'] $R.Before
    Write-WbJournal 'change.intent' @{ step = $R.Id; action = [string]$step['apply']['op']; before = $R.Before }
    [void]$Applied.Add($R)
    $result = Invoke-WbExportOp $op 'write'
    if (-not $result['ok']) {
        $R.Error = [string]$result['error']['message']
        Write-WbJournal 'change.failed' @{ step = $R.Id; error = $R.Error }
        return $false
    }
    Write-WbJournal 'change.done' @{ step = $R.Id }
    $check = $step['verify']
    $read = Read-WbRequest ([string]$check['request'])
    $results = @((Invoke-WbExportOp $read.Ops[0] 'read'))
    $seen = Get-WbObserved @{ op = 0; pick = $check['pick']; field = $check['field'] } $results
    $ok = ($null -eq $seen.Error -and (Test-WbMatch $check['expect'] $seen.Value))
    Write-WbJournal 'step.verify' @{ step = $R.Id; observed = $seen.Value; ok = $ok; error = $seen.Error }
    if (-not $ok) {
        $R.Error = 'not as expected after the change: ' + (ConvertTo-WbShown $seen.Value)
    }
    return $ok
}

function Invoke-WbUndo {
    # Undo what this run changed, newest first; $true when every undo worked.
    param($Applied)
    $allOk = $true
    for ($i = $Applied.Count - 1; $i -ge 0; $i--) {
        $r = $Applied[$i]
        $op = New-WbWriteOp $r.Step['undo'] $r.Before
        if ($null -eq $op) {
            Write-WbJournal 'rollback.step' @{ step = $r.Id; ok = $true; action = $null }
        } else {
            $result = Invoke-WbExportOp $op 'write'
            $allOk = $allOk -and [bool]$result['ok']
            Write-WbJournal 'rollback.step' @{ step = $r.Id; ok = [bool]$result['ok']; action = $op.Name }
        }
    }
    return $allOk
}

function Invoke-WbRemediation {
    # 0: every drift fixed and verified; 1: a change failed and was rolled back; 2: rollback failed too.
    param($Plan, $Steps)
    $root = [Environment]::GetFolderPath('CommonApplicationData')
    $dir = [IO.Path]::Combine([IO.Path]::Combine($root, 'wbplay'), 'runs')
    $stamp = [DateTime]::UtcNow.ToString('yyyyMMddTHHmmssZ', $WbInvariant)
    $WbExport.Run = $stamp + '-' + [string]$Plan['playbook'] + '-' + ([string]$env:COMPUTERNAME -replace '[^A-Za-z0-9-]+', '-')
    try {
        [void][IO.Directory]::CreateDirectory($dir)
        $WbExport.Path = [IO.Path]::Combine($dir, $WbExport.Run + '.jsonl')
    } catch {
        $WbExport.Path = $null
    }
    Write-WbJournal 'run.start' @{ playbook = [string]$Plan['playbook']; dry_run = $false; engine = $WbExportMode }
    $applied = New-Object System.Collections.ArrayList
    $code = 0
    $failed = $null
    foreach ($r in $Steps) {
        if ($r.Status -cne 'drift') {
            continue
        }
        if (-not (Invoke-WbChange $r $applied)) {
            $failed = $r
            break
        }
        $r.Status = 'fixed'
    }
    if ($null -ne $failed) {
        $failed.Status = 'failed'
        $code = 1
        if (-not (Invoke-WbUndo $applied)) {
            $code = 2
        }
    }
    Write-WbJournal 'run.end' @{ exit_code = $code; rolled_back = ($code -eq 1) }
    return $code
}

$WbMatcherKeys = @('equals', 'in', 'not', 'matches', 'lt', 'gt', 'lte', 'gte', 'exists', 'contains', 'all', 'any')
$WbExport = @{ Seq = 0; Run = ''; Path = $null }
$wbLine = ''
$wbCode = 0
try {
    $wbPlan = ConvertFrom-WbExportJson (ConvertFrom-WbBase64 $WbExportData)
    $wbSteps = Get-WbAssessment $wbPlan $null (Get-WbReads $wbPlan)
    $wbLine = Get-WbDriftLine $wbPlan $wbSteps
    $wbDrift = @($wbSteps | Where-Object { $_.Status -ceq 'drift' }).Count
    if ($WbExportMode -ceq 'detect') {
        if ($wbDrift -gt 0) {
            $wbCode = 1
        }
    } elseif ($WbExportMode -ceq 'discover') {
        if ($wbDrift -eq 0) {
            $wbLine = 'Compliant'
        }
    } else {
        $wbCode = Invoke-WbRemediation $wbPlan $wbSteps
        $wbLine = [string]$wbPlan['playbook'] + ': remediation exit ' + [string]$wbCode + ', journal ' + [string]$WbExport.Run
        if ($wbCode -ne 0 -and $WbExportMode -ceq 'configmgr') {
            throw $wbLine
        }
    }
} catch {
    $wbLine = 'wbplay export: ' + [string]$_.Exception.Message
    $wbCode = 3
    if ($WbExportMode -ceq 'configmgr') {
        throw
    }
}
[Console]::Out.WriteLine($wbLine)
exit $wbCode
