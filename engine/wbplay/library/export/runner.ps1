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

function ConvertTo-WbNormText {
    # cmdparse._norm: NFKC, and every line break as LF.
    param($Text)
    $t = ([string]$Text).Normalize([Text.NormalizationForm]::FormKC)
    return $t.Replace([string][char]13 + [string][char]10, [string][char]10).Replace([string][char]13, [string][char]10)
}

function Get-WbAfterColon {
    param([string]$Line)
    $at = $Line.IndexOf(':')
    if ($at -lt 0) {
        return $Line.Trim()
    }
    return $Line.Substring($at + 1).Trim()
}

function Test-WbAmong {
    param($Value, $Items)
    foreach ($item in $Items) {
        if (Test-WbEqual $Value $item) {
            return $true
        }
    }
    return $false
}

function ConvertFrom-WbWriters {
    # cmdparse.writers: vssadmin list writers -> [{name, id, instance_id, state, last_error, failed}].
    param($Command, $P)
    $out = New-Object System.Collections.ArrayList
    if ($null -eq $Command) {
        return ,($out.ToArray())
    }
    $current = $null
    $afterState = $false
    foreach ($line in (ConvertTo-WbNormText $Command['output']).Split([char]10)) {
        if ($line.Trim() -ceq '') {
            $current = $null
            $afterState = $false
            continue
        }
        $name = [regex]::Match($line, [string]$P['name_re'])
        if ($name.Success) {
            $current = @{ name = $name.Groups[1].Value; id = $null; instance_id = $null; state = $null; last_error = $null }
            [void]$out.Add($current)
            $afterState = $false
            continue
        }
        if ($null -eq $current) {
            continue
        }
        $guid = [regex]::Match($line, [string]$P['guid_re'])
        $state = [regex]::Match($line, [string]$P['state_re'])
        if ($state.Success -and $null -eq $current['state']) {
            $current['state'] = [int]$state.Groups[1].Value
            $afterState = $true
        } elseif ($afterState) {
            $current['last_error'] = Get-WbAfterColon $line
            $afterState = $false
        } elseif ($guid.Success) {
            if ($null -eq $current['id']) {
                $current['id'] = $guid.Value.ToLowerInvariant()
            } else {
                $current['instance_id'] = $guid.Value.ToLowerInvariant()
            }
        }
    }
    foreach ($w in $out) {
        $w['failed'] = (Test-WbAmong $w['state'] $P['failed_states'])
    }
    return ,($out.ToArray())
}

function ConvertFrom-WbProviders {
    # cmdparse.providers: vssadmin list providers -> [{name, id, third_party}] (Microsoft's told by id).
    param($Command, $P)
    $out = New-Object System.Collections.ArrayList
    foreach ($line in (ConvertTo-WbNormText $Command['output']).Split([char]10)) {
        $name = [regex]::Match($line, [string]$P['name_re'])
        if ($name.Success) {
            [void]$out.Add(@{ name = $name.Groups[1].Value; id = $null; third_party = $null })
            continue
        }
        $guid = [regex]::Match($line, [string]$P['guid_re'])
        if ($guid.Success -and $out.Count -gt 0 -and $null -eq $out[$out.Count - 1]['id']) {
            $last = $out[$out.Count - 1]
            $last['id'] = $guid.Value.ToLowerInvariant()
            $last['third_party'] = -not (Test-WbAmong $last['id'] $P['microsoft'])
        }
    }
    return ,($out.ToArray())
}

function Get-WbNewest {
    # The ordinally greatest of ISO times (backup.backup_in_progress's max()); $null for none.
    param($Times)
    $best = $null
    foreach ($t in $Times) {
        if ($null -eq $best -or [string]::CompareOrdinal([string]$t, [string]$best) -gt 0) {
            $best = [string]$t
        }
    }
    return $best
}

function Get-WbInProgress {
    # backup.backup_in_progress: writers waiting (a snapshot now) or a Backup-log job not completed.
    param($Values, $P)
    $busy = New-Object System.Collections.ArrayList
    foreach ($w in (ConvertFrom-WbWriters $Values[0] $P)) {
        if (Test-WbAmong $w['state'] $P['busy_states']) {
            [void]$busy.Add($w['name'])
        }
    }
    $started = New-Object System.Collections.ArrayList
    $ended = New-Object System.Collections.ArrayList
    foreach ($e in @($Values[1])) {
        if ($null -eq $e) {
            continue
        }
        if (Test-WbEqual $e['id'] $P['started_id']) {
            [void]$started.Add($e['time'])
        } elseif (Test-WbEqual $e['id'] $P['completed_id']) {
            [void]$ended.Add($e['time'])
        }
    }
    $first = Get-WbNewest $started
    $last = Get-WbNewest $ended
    $job = ($null -ne $first) -and ($null -eq $last -or [string]::CompareOrdinal($first, $last) -gt 0)
    $why = New-Object System.Collections.ArrayList
    if ($job) {
        [void]$why.Add('a Windows backup started at ' + $first + ' and has not completed')
    }
    if ($busy.Count -gt 0) {
        [void]$why.Add('a shadow copy is in progress (writers waiting: ' + [string]::Join(', ', [string[]]$busy.ToArray()) + ')')
    }
    $jobStarted = $null
    if ($job) {
        $jobStarted = $first
    }
    return @{ running = ($why.Count -gt 0); why = [string]::Join('; ', [string[]]$why.ToArray()); job_started = $jobStarted; busy_writers = $busy.ToArray() }
}

function Get-WbEasyPrint {
    # desktop.easy_print: Easy Print drivers, and printers on its driver or a TS port.
    param($Values, $P)
    $phrase = [string]$P['phrase']
    $names = New-Object System.Collections.ArrayList
    foreach ($d in @($Values[0])) {
        if ($null -ne $d -and ([string]$d['name']).ToLowerInvariant().Contains($phrase) -and -not $names.Contains([string]$d['name'])) {
            [void]$names.Add([string]$d['name'])
        }
    }
    $printers = New-Object System.Collections.ArrayList
    foreach ($x in @($Values[1])) {
        if ($null -eq $x) {
            continue
        }
        if (([string]$x['driver']).ToLowerInvariant().Contains($phrase) -or [regex]::IsMatch([string]$x['port'], [string]$P['port_re'])) {
            [void]$printers.Add([string]$x['name'])
        }
    }
    $names.Sort([StringComparer]::Ordinal)
    $printers.Sort([StringComparer]::Ordinal)
    return @{ present = ($names.Count -gt 0 -or $printers.Count -gt 0); drivers = $names.ToArray(); printers = $printers.ToArray() }
}

function Get-WbDerived {
    # A derived check kind's value from its reads' values and the plan's tables (interp.derive).
    param([string]$Name, $Values, $P)
    $v = $null
    switch -casesensitive ($Name) {
        'writers' {
            if ($null -ne $Values[0]) {
                $v = ConvertFrom-WbWriters $Values[0] $P
            }
        }
        'writer' {
            foreach ($w in (ConvertFrom-WbWriters $Values[0] $P)) {
                if ($null -eq $v -and ([string]$w['name']).ToLowerInvariant() -ceq [string]$P['name']) {
                    $v = $w
                }
            }
        }
        'failed_writers' {
            if ($null -ne $Values[0]) {
                $found = New-Object System.Collections.ArrayList
                foreach ($w in (ConvertFrom-WbWriters $Values[0] $P)) {
                    if ($w['failed']) {
                        [void]$found.Add($w['name'])
                    }
                }
                $v = $found.ToArray()
            }
        }
        'in_progress' {
            $v = Get-WbInProgress $Values $P
        }
        'providers' {
            if ($null -ne $Values[0]) {
                $v = ConvertFrom-WbProviders $Values[0] $P
            }
        }
        'third_party_providers' {
            if ($null -ne $Values[0]) {
                $found = New-Object System.Collections.ArrayList
                foreach ($x in (ConvertFrom-WbProviders $Values[0] $P)) {
                    if ($x['third_party']) {
                        [void]$found.Add($x['name'])
                    }
                }
                $v = $found.ToArray()
            }
        }
        'policy_disabled' {
            $found = New-Object System.Collections.ArrayList
            foreach ($x in @($Values[0])) {
                if ($null -ne $x -and (Test-WbAmong ([string]$x['name']).ToLowerInvariant() $P['names']) -and [string]$x['start_mode'] -ceq 'Disabled') {
                    [void]$found.Add($x['name'])
                }
            }
            $v = $found.ToArray()
        }
        'system_writer_errors' {
            if ($null -ne $Values[0]) {
                $found = New-Object System.Collections.ArrayList
                foreach ($e in @($Values[0])) {
                    $benign = $false
                    foreach ($m in $P['benign']) {
                        if (([string]$e['message']).ToLowerInvariant().Contains([string]$m)) {
                            $benign = $true
                        }
                    }
                    if (-not $benign) {
                        [void]$found.Add($e)
                    }
                }
                $v = $found.ToArray()
            }
        }
        'easy_print' {
            $v = Get-WbEasyPrint $Values $P
        }
        default {
            throw ('unknown derivation ' + $Name)
        }
    }
    if ($null -eq $v) {
        return $null
    }
    return ,$v
}

function Invoke-WbExportOp {
    # One op of the embedded requests -> the agent's parsed result (ok, value, error).
    param($Op, [string]$Mode)
    return (ConvertFrom-WbExportJson (Invoke-WbOp $Op $Mode))
}

function Get-WbObserved {
    # The value a check observed from its read, or the read's error message.
    param($Probe, $Results)
    $indexes = @($Probe['op'])
    if ($null -ne $Probe['ops']) {
        $indexes = @($Probe['ops'])
    }
    foreach ($i in $indexes) {
        $failed = $Results[[int]$i]
        if (-not $failed['ok']) {
            return @{ Error = [string]$failed['error']['message']; Value = $null }
        }
    }
    $value = $Results[[int]$Probe['op']]['value']
    $pick = [string]$Probe['pick']
    if ($null -ne $Probe['derive']) {
        $values = New-Object System.Collections.ArrayList
        foreach ($i in $indexes) {
            [void]$values.Add($Results[[int]$i]['value'])
        }
        $value = Get-WbDerived ([string]$Probe['derive']) $values.ToArray() $Probe['params']
    } elseif ($pick -ceq '=present') {
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
        if ($null -ne $step['reported']) {
            $r.Status = 'reported'
        } elseif (-not (Test-WbCondition $step['when'] $Plan['vars'] $facts $statuses)) {
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
    # One line for the portal: what drifted, and what a human must do.  Intune keeps 2,048
    # characters (remediations.md, docs/domain-review.md C.3) of the last line (IntuneScriptLab,
    # third party); the line stays under 2,000 and is the only output.
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
        } elseif ($r.Status -ceq 'reported') {
            [void]$other.Add('not checked ' + $r.Id)
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
    if ($null -ne $Spec['before_fields']) {
        # actions._reg_inverse: the recorded entry put back, or the value deleted when it was absent.
        if ($null -eq $Before -or -not $Before['exists']) {
            return (New-WbWriteOp $Spec['when_absent'] $Before)
        }
        foreach ($f in $Spec['before_fields']) {
            $opArgs[[string]$f] = $Before[[string]$f]
        }
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
    # wbplay's change.intent (run/apply.py): the action and its inverse as {kind, args...}.
    $inverse = $null
    $undoOp = New-WbWriteOp $step['undo'] $R.Before
    if ($null -ne $undoOp) {
        $inverse = @{ kind = $undoOp.Name }
        foreach ($key in @($undoOp.Args.Keys)) {
            $inverse[[string]$key] = $undoOp.Args[$key]
        }
    }
    Write-WbJournal 'change.intent' @{ step = $R.Id; action = $step['record']['action']; before = $R.Before; before_probe = $step['record']['before_probe']; inverse = $inverse }
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
    $results = New-Object System.Collections.ArrayList
    foreach ($verifyOp in $read.Ops) {
        [void]$results.Add((Invoke-WbExportOp $verifyOp 'read'))
    }
    $seen = Get-WbObserved $check['check'] $results.ToArray()
    $ok = ($null -eq $seen.Error -and (Test-WbMatch $check['expect'] $seen.Value))
    Write-WbJournal 'step.verify' @{ step = $R.Id; observed = $seen.Value; ok = $ok; error = $seen.Error }
    if (-not $ok) {
        $R.Error = 'not as expected after the change: ' + (ConvertTo-WbShown $seen.Value)
    }
    return $ok
}

function Get-WbIdentity {
    # run/identity.py: the hostname (os.info, read 0) and the MachineGuid (read 1), for rollback.
    param($Results)
    $name = ''
    if ($Results[0]['ok'] -and $null -ne $Results[0]['value']) {
        $name = [string]$Results[0]['value']['hostname']
    }
    $guid = $null
    $entry = $Results[1]['value']
    if ($Results[1]['ok'] -and $null -ne $entry -and $entry['exists']) {
        $guid = [string]$entry['value']
    }
    return @{ hostname = $name; machine_guid = $guid }
}

function Invoke-WbUndo {
    # Undo what this run changed, newest first; $true when every undo worked.
    param($Applied)
    $allOk = $true
    for ($i = $Applied.Count - 1; $i -ge 0; $i--) {
        $r = $Applied[$i]
        $op = New-WbWriteOp $r.Step['undo'] $r.Before
        if ($null -eq $op) {
            Write-WbJournal 'undo.skip' @{ step = $r.Id; why = 'nothing to undo' }
        } else {
            $result = Invoke-WbExportOp $op 'write'
            $allOk = $allOk -and [bool]$result['ok']
            # wbplay's undo events (run/rollback.py), so a later `wbplay rollback` sees what is settled.
            if ($result['ok']) {
                Write-WbJournal 'undo.verify' @{ step = $r.Id; ok = $true; action = $op.Name }
            } else {
                Write-WbJournal 'undo.failed' @{ step = $r.Id; action = $op.Name; error = [string]$result['error']['message'] }
            }
        }
    }
    return $allOk
}

function Invoke-WbRemediation {
    # 0: every drift fixed and verified; 1: a change failed and was rolled back; 2: rollback failed too.
    param($Plan, $Steps, $Results)
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
    Write-WbJournal 'host.identity' (Get-WbIdentity $Results)
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
    $wbReads = Get-WbReads $wbPlan
    $wbSteps = Get-WbAssessment $wbPlan $null $wbReads
    $wbLine = Get-WbDriftLine $wbPlan $wbSteps
    $wbDrift = @($wbSteps | Where-Object { $_.Status -ceq 'drift' }).Count
    if ($WbExportMode -ceq 'detect') {
        # Intune: exit 1 = issue found, then the remediation runs; any other code = not found
        # (remediations.md, docs/domain-review.md C.3).
        if ($wbDrift -gt 0) {
            $wbCode = 1
        }
    } elseif ($WbExportMode -ceq 'discover') {
        # ConfigMgr: the printed value is what the compliance rule compares (Equals 'Compliant');
        # remediation runs when it does not match (create-custom-configuration-items..., C.4).
        if ($wbDrift -eq 0) {
            $wbLine = 'Compliant'
        }
    } else {
        $wbCode = Invoke-WbRemediation $wbPlan $wbSteps $wbReads
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
