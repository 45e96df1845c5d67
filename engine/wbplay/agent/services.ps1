# ---------------------------------------------------------------- services ---

function Import-WbServiceProcess {
    # Loaded already in most hosts; harmless when it is.
    [void][Reflection.Assembly]::LoadWithPartialName('System.ServiceProcess')
}

function Get-WbServiceRows {
    # Every service as @{ Name; DisplayName; State; Path; StartMode; ExitCode;
    # SpecificExitCode }, from WMI (the whole list, filtered here with -eq:
    # never by pasting a name into a WQL filter).  Cached for one request;
    # every write op clears the cache.
    $cached = $WbState.Services
    if ($null -ne $cached) {
        return ,$cached
    }
    $wmi = $null
    try {
        $wmi = @(Get-WmiObject -Class Win32_Service)
    } catch {
        $wmi = $null
    }
    $rows = New-Object System.Collections.ArrayList
    if ($null -ne $wmi) {
        foreach ($s in $wmi) {
            [void]$rows.Add(@{
                    Name = [string]$s.Name
                    DisplayName = $s.DisplayName
                    State = [string]$s.State
                    Path = $s.PathName
                    StartMode = [string]$s.StartMode
                    ExitCode = $s.ExitCode
                    SpecificExitCode = $s.ServiceSpecificExitCode
                })
        }
    } else {
        # WMI is broken: the service control manager and the registry know the
        # same facts (the SCM expands ImagePath the same way WMI shows it).
        Import-WbServiceProcess
        foreach ($sc in [System.ServiceProcess.ServiceController]::GetServices()) {
            $path = Get-WbHklmValue ('SYSTEM\CurrentControlSet\Services\' + $sc.ServiceName) 'ImagePath'
            [void]$rows.Add(@{
                    Name = [string]$sc.ServiceName
                    DisplayName = $sc.DisplayName
                    State = [string]$sc.Status
                    Path = $path
                    StartMode = ''
                    ExitCode = $null
                    SpecificExitCode = $null
                })
        }
    }
    $cached = $rows.ToArray()
    $WbState.Services = $cached
    return ,$cached
}

function Find-WbServiceRow {
    # Case-insensitive, by service name only (never by display name).
    param([string]$Name)
    foreach ($row in (Get-WbServiceRows)) {
        if ([string]::Equals([string]$row.Name, $Name, [StringComparison]::OrdinalIgnoreCase)) {
            return $row
        }
    }
    return $null
}

function Get-WbServiceKeyInfo {
    # Start, DelayedAutostart and DependOnService straight from the service's
    # key: Win32_Service.StartMode cannot tell "Automatic (Delayed Start)".
    param([string]$Name)
    $info = @{ Start = $null; Delayed = $null; DependOn = $null }
    $rk = $null
    try {
        $rk = (Get-WbBaseKey 'HKLM').OpenSubKey('SYSTEM\CurrentControlSet\Services\' + $Name, $false)
        if ($null -ne $rk) {
            $info.Start = $rk.GetValue('Start', $null)
            $info.Delayed = $rk.GetValue('DelayedAutostart', $null)
            $info.DependOn = $rk.GetValue('DependOnService', $null)
        }
    } finally {
        if ($null -ne $rk) {
            $rk.Close()
        }
    }
    return $info
}

function ConvertTo-WbStartMode {
    param($Start, $Delayed, [string]$WmiMode)
    if ($null -ne $Start) {
        switch ([int]$Start) {
            2 {
                if ($null -ne $Delayed -and [int]$Delayed -eq 1) {
                    return 'AutomaticDelayed'
                }
                return 'Automatic'
            }
            3 {
                return 'Manual'
            }
            4 {
                return 'Disabled'
            }
            0 {
                return 'Boot'
            }
            1 {
                return 'System'
            }
        }
    }
    if ($WmiMode -eq 'Auto') {
        return 'Automatic'
    }
    if ($WmiMode -eq 'Manual' -or $WmiMode -eq 'Disabled' -or $WmiMode -eq 'Boot' -or $WmiMode -eq 'System') {
        return $WmiMode
    }
    return 'Unknown'
}

function ConvertTo-WbServiceJson {
    param($Row)
    $name = [string]$Row.Name
    $info = Get-WbServiceKeyInfo $name
    $mode = ConvertTo-WbStartMode $info.Start $info.Delayed ([string]$Row.StartMode)
    $deps = New-Object System.Collections.ArrayList
    if ($null -ne $info.DependOn) {
        foreach ($dep in @($info.DependOn)) {
            if ($null -ne $dep -and [string]$dep -ne '') {
                [void]$deps.Add((ConvertTo-WbJsonString ([string]$dep)))
            }
        }
    }
    # WMI says "Start Pending", the SCM says StartPending: ops.SERVICE_STATES
    # spells them without the space.
    $state = ([string]$Row.State).Replace(' ', '')
    return (ConvertTo-WbJsonObject @(
            'name', (ConvertTo-WbJsonString $name),
            'display_name', (ConvertTo-WbJsonString $Row.DisplayName),
            'start_mode', (ConvertTo-WbJsonString $mode),
            'state', (ConvertTo-WbJsonString $state),
            'depends_on', (ConvertTo-WbJsonList $deps),
            'path', (ConvertTo-WbJsonString $Row.Path)))
}

function Get-WbService {
    param([string]$Name)
    $row = Find-WbServiceRow $Name
    if ($null -eq $row) {
        return 'null'
    }
    return (ConvertTo-WbServiceJson $row)
}

function Get-WbServiceList {
    # Sorted by name, ordinal (service names are unique ignoring case).
    $byName = @{}
    $names = New-Object System.Collections.ArrayList
    foreach ($row in (Get-WbServiceRows)) {
        $rowName = [string]$row.Name
        $byName[$rowName] = $row
        [void]$names.Add($rowName)
    }
    $names.Sort([StringComparer]::Ordinal)
    $items = New-Object System.Collections.ArrayList
    foreach ($n in $names) {
        [void]$items.Add((ConvertTo-WbServiceJson $byName[$n]))
    }
    return (ConvertTo-WbJsonList $items)
}

function ConvertFrom-WbChangeResult {
    # Win32_Service method ReturnValue -> Win32 error code.
    param([int]$ReturnValue)
    $map = @{
        2 = 5; 3 = 1051; 5 = 1061; 6 = 1062; 7 = 1053; 9 = 3; 10 = 1056; 11 = 1055
        12 = 1075; 13 = 1068; 14 = 1058; 15 = 1069; 16 = 1072; 17 = 1054; 18 = 1059
        19 = 1078; 20 = 123; 21 = 87; 22 = 1057; 23 = 1073
    }
    if ($map.ContainsKey($ReturnValue)) {
        return [int]$map[$ReturnValue]
    }
    return 0
}

function Set-WbServiceStartMode {
    # Win32_Service.ChangeStartMode rather than "sc.exe config": the service
    # name travels as a typed WMI method argument (sc.exe would need it on a
    # native command line, whose quoting PS2 gets wrong), the change goes
    # through the SCM (effective at once, consistent with its in-memory
    # config), and failures come back as numbers, not localized text.
    # ChangeStartMode cannot express delayed start, so that flag goes through
    # "sc.exe config NAME start= delayed-auto" (or "start= auto" to clear it),
    # which tells the SCM: writing DelayedAutostart in the key behind its back
    # leaves sc qc and services.msc showing the old mode until a reboot, and
    # some protected services' keys refuse Administrators (docs/agent-review.md
    # likely bug 7).  The name is the SCM's own, through Join-WbArguments.
    param([string]$Name, [string]$Mode)
    $wmiMode = $null
    switch -casesensitive ($Mode) {
        'Automatic' {
            $wmiMode = 'Automatic'
        }
        'AutomaticDelayed' {
            $wmiMode = 'Automatic'
        }
        'Manual' {
            $wmiMode = 'Manual'
        }
        'Disabled' {
            $wmiMode = 'Disabled'
        }
    }
    if ($null -eq $wmiMode) {
        throw (New-WbFailure 87 "unknown start mode '$Mode'")
    }
    $svc = $null
    foreach ($candidate in @(Get-WmiObject -Class Win32_Service)) {
        if ([string]::Equals([string]$candidate.Name, $Name, [StringComparison]::OrdinalIgnoreCase)) {
            $svc = $candidate
            break
        }
    }
    if ($null -eq $svc) {
        throw (New-WbFailure 1060)
    }
    $result = $svc.ChangeStartMode($wmiMode)
    $rv = [int]$result.ReturnValue
    if ($rv -ne 0) {
        $code = ConvertFrom-WbChangeResult $rv
        if ($code -eq 0) {
            throw (New-WbFailure 1 "Win32_Service.ChangeStartMode returned $rv")
        }
        throw (New-WbFailure $code)
    }
    $flag = $null
    if ($Mode -ceq 'AutomaticDelayed') {
        $flag = 'delayed-auto'
    } elseif ($Mode -ceq 'Automatic') {
        $delayed = (Get-WbServiceKeyInfo ([string]$svc.Name)).Delayed
        if ($null -ne $delayed -and [int]$delayed -eq 1) {
            $flag = 'auto'
        }
    }
    if ($null -ne $flag) {
        $run = Invoke-WbNative -Name 'sc' -Tokens @('config', [string]$svc.Name, 'start=', $flag)
        if ($run.ExitCode -ne 0) {
            throw (New-WbFailure ([long]$run.ExitCode) ('sc config: ' + (Get-WbLastLine $run.Output)))
        }
    }
    return 'null'
}

function Find-WbController {
    # GetServices() + a name match, not New-Object ServiceController($name):
    # that constructor also accepts DISPLAY names, so "Windows Backup" would
    # silently resolve to SDRSVC.
    param([string]$Name)
    Import-WbServiceProcess
    foreach ($sc in [System.ServiceProcess.ServiceController]::GetServices()) {
        if ([string]::Equals($sc.ServiceName, $Name, [StringComparison]::OrdinalIgnoreCase)) {
            return $sc
        }
    }
    throw (New-WbFailure 1060)
}

function Get-WbStartFailure {
    # The service stopped while starting: report its own exit code when the
    # SCM kept one (Win32_Service.ExitCode), else 1067 "process terminated".
    param([string]$Name)
    $WbState.Services = $null
    $row = Find-WbServiceRow $Name
    if ($null -ne $row -and $null -ne $row.ExitCode) {
        $exit = [long]$row.ExitCode
        if ($exit -eq 1066 -and $null -ne $row.SpecificExitCode) {
            return (New-WbFailure 1066 ('The service stopped with service-specific error ' +
                    [string]$row.SpecificExitCode + '.'))
        }
        if ($exit -gt 0 -and $exit -le 65535) {
            return (New-WbFailure ([int]$exit))
        }
    }
    return (New-WbFailure 1067)
}

function Wait-WbServiceStatus {
    # Bounded wait ($WbState.ServiceWait seconds, see agent.ps1).  1053 on timeout.
    param($Controller, [string]$Want, [int]$Seconds)
    $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
    while ($true) {
        $Controller.Refresh()
        $status = [string]$Controller.Status
        if ($status -eq $Want) {
            return
        }
        if ($Want -eq 'Running' -and $status -eq 'Stopped') {
            throw (Get-WbStartFailure $Controller.ServiceName)
        }
        if ([DateTime]::UtcNow -ge $deadline) {
            throw (New-WbFailure 1053)
        }
        Start-Sleep -Milliseconds 250
    }
}

function Start-WbService {
    # The SCM starts the dependencies first (1068 when one fails; 1058 when
    # the service is disabled).  Already running is success.
    param([string]$Name)
    $sc = Find-WbController $Name
    $status = [string]$sc.Status
    if ($status -eq 'Running') {
        return 'null'
    }
    if ($status -eq 'StopPending') {
        Wait-WbServiceStatus $sc 'Stopped' $WbState.ServiceWait
        $status = 'Stopped'
    }
    if ($status -eq 'Paused' -or $status -eq 'PausePending') {
        $sc.Continue()
    } elseif ($status -ne 'StartPending' -and $status -ne 'ContinuePending') {
        try {
            [void]$sc.Start()
        } catch {
            # 1056: someone else started it in the meantime.
            if ((Get-WbErrorInfo $_.Exception).Code -ne 1056) {
                throw $_.Exception
            }
        }
    }
    Wait-WbServiceStatus $sc 'Running' $WbState.ServiceWait
    return 'null'
}

function Stop-WbService {
    # Refuses with 1051 while dependent services run, like "sc stop" (and
    # unlike ServiceController.Stop(), which would stop them all silently).
    # Already stopped is success.
    param([string]$Name)
    $sc = Find-WbController $Name
    $status = [string]$sc.Status
    if ($status -eq 'Stopped') {
        return 'null'
    }
    if ($status -ne 'StopPending') {
        foreach ($dependent in $sc.DependentServices) {
            if ([string]$dependent.Status -ne 'Stopped') {
                throw (New-WbFailure 1051)
            }
        }
        try {
            $sc.Stop()
        } catch {
            # 1062: it stopped by itself in the meantime.
            if ((Get-WbErrorInfo $_.Exception).Code -ne 1062) {
                throw $_.Exception
            }
        }
    }
    Wait-WbServiceStatus $sc 'Stopped' $WbState.ServiceWait
    return 'null'
}
