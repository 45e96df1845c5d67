# ---------------------------------------------------------------- accounts ---

function Get-WbSessionInfo {
    # The account the agent runs as.  elevated: Administrators is enabled in
    # the token.  is_admin: it is in the token at all; a UAC-filtered token
    # holds it deny-only, which .NET's group list leaves out and whoami shows
    # (by SID, the same in every language).
    $identity = [Security.Principal.WindowsIdentity]::GetCurrent()
    $principal = New-Object Security.Principal.WindowsPrincipal -ArgumentList $identity
    $admins = New-Object Security.Principal.SecurityIdentifier -ArgumentList 'S-1-5-32-544'
    $elevated = $principal.IsInRole($admins)
    $isAdmin = $elevated
    if (-not $elevated) {
        try {
            $run = Invoke-WbNative -Name 'whoami' -Tokens @('/groups')
            $isAdmin = ($run.Output -match 'S-1-5-32-544')
        } catch {
            $isAdmin = $false
        }
    }
    return (ConvertTo-WbJsonObject @(
            'user', (ConvertTo-WbJsonString $identity.Name),
            'sid', (ConvertTo-WbJsonString $identity.User.Value),
            'is_admin', (ConvertTo-WbJsonBool $isAdmin),
            'elevated', (ConvertTo-WbJsonBool $elevated)))
}

function Get-WbInteractiveSessions {
    # Who has a desktop now: the sessions running explorer.exe (services and
    # the WinRM session have no shell), the console user
    # (Win32_ComputerSystem.UserName), and the local wall-clock time for a
    # maintenance window.
    $ids = @{}
    foreach ($p in @([Diagnostics.Process]::GetProcessesByName('explorer'))) {
        $ids[[int]$p.SessionId] = (ConvertTo-WbJsonNumber $p.SessionId)
    }
    $items = @($ids.Keys | Sort-Object | ForEach-Object { $ids[$_] })
    $console = [string]@(Get-WmiObject -Class Win32_ComputerSystem)[0].UserName
    if ($console.Length -eq 0) {
        $console = $null
    }
    $now = [DateTime]::Now.ToString('yyyy-MM-ddTHH:mm:ss', [Globalization.CultureInfo]::InvariantCulture)
    return (ConvertTo-WbJsonObject @(
            'local_time', (ConvertTo-WbJsonString $now),
            'console_user', (ConvertTo-WbJsonString $console),
            'desktop_sessions', (ConvertTo-WbJsonList $items)))
}

function Get-WbServicePolicy {
    # Start modes that Group Policy enforces ("System Services" security
    # settings, applied through RChangeServiceConfigW at every refresh,
    # MS-GPSB): RSOP_SystemService, winning entries (precedence 1) only.
    # No RSoP data (no policy, or the namespace is absent) is no policy.
    $modes = @($null, $null, 'Automatic', 'Manual', 'Disabled')
    $keys = New-Object System.Collections.ArrayList
    $items = New-Object System.Collections.ArrayList
    try {
        $found = @(Get-WmiObject -Namespace 'root\rsop\computer' -Class RSOP_SystemService)
    } catch {
        $found = @()
    }
    foreach ($entry in $found) {
        if ([int]$entry.precedence -gt 1) {
            continue
        }
        $mode = $null
        if ([int]$entry.StartupMode -lt 5) {
            $mode = $modes[[int]$entry.StartupMode]
        }
        [void]$keys.Add([string]$entry.Service)
        [void]$items.Add((ConvertTo-WbJsonObject @(
                    'name', (ConvertTo-WbJsonString ([string]$entry.Service)),
                    'start_mode', (ConvertTo-WbJsonString $mode))))
    }
    return (ConvertTo-WbJsonList (Get-WbSortedItems ([string[]]$keys.ToArray()) $items.ToArray()))
}

function Get-WbShellFolders {
    # User Shell Folders of every loaded HKU\S-1-5-21-* hive (over WinRM,
    # HKCU is no user's: Assert-WbUserHive), values raw
    # (REG_EXPAND_SZ unexpanded), with ProfileList's ProfileImagePath.
    Assert-WbRegistryView
    $users = Get-WbBaseKey 'HKU'
    $items = New-Object System.Collections.ArrayList
    foreach ($sid in (Get-WbSorted $users.GetSubKeyNames())) {
        if ($sid -notmatch '^S-1-5-21-[0-9-]+\z') {
            continue
        }
        $pairs = New-Object System.Collections.ArrayList
        $rk = $null
        try {
            $rk = $users.OpenSubKey($sid + '\Software\Microsoft\Windows\CurrentVersion\Explorer\User Shell Folders', $false)
            if ($null -ne $rk) {
                foreach ($name in (Get-WbSorted $rk.GetValueNames())) {
                    [void]$pairs.Add($name)
                    [void]$pairs.Add((Get-WbRegistryTyped $rk $name).Value)
                }
            }
        } finally {
            if ($null -ne $rk) {
                $rk.Close()
            }
        }
        if ($null -eq $rk) {
            continue
        }
        $profilePath = $null
        $pk = $null
        try {
            $pk = (Get-WbBaseKey 'HKLM').OpenSubKey('SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\' + $sid, $false)
            if ($null -ne $pk) {
                $profilePath = $pk.GetValue('ProfileImagePath', $null,
                    [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
            }
        } finally {
            if ($null -ne $pk) {
                $pk.Close()
            }
        }
        [void]$items.Add((ConvertTo-WbJsonObject @(
                    'sid', (ConvertTo-WbJsonString $sid),
                    'profile_path', (ConvertTo-WbJsonString $profilePath),
                    'folders', (ConvertTo-WbJsonObject $pairs.ToArray()))))
    }
    return (ConvertTo-WbJsonList $items.ToArray())
}

function Get-WbUserLibraries {
    # Every profile's libraries (%APPDATA%\Microsoft\Windows\Libraries\
    # *.library-ms, XML: simpleLocation/url), each folder with whether it is
    # reachable now from this session (KB975692 scenario 1).  knownfolder:
    # references (the default libraries) are not paths and are left out.
    # The XML is read as data with no resolver (no external entities).
    Assert-WbRegistryView
    $keys = New-Object System.Collections.ArrayList
    $items = New-Object System.Collections.ArrayList
    $list = (Get-WbBaseKey 'HKLM').OpenSubKey('SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList', $false)
    if ($null -eq $list) {
        return '[]'
    }
    try {
        foreach ($sid in (Get-WbSorted $list.GetSubKeyNames())) {
            if ($sid -notmatch '^S-1-5-21-[0-9-]+\z') {
                continue
            }
            $pk = $list.OpenSubKey($sid, $false)
            if ($null -eq $pk) {
                continue
            }
            try {
                $profilePath = [Environment]::ExpandEnvironmentVariables([string]$pk.GetValue('ProfileImagePath', ''))
            } finally {
                $pk.Close()
            }
            $dir = [IO.Path]::Combine($profilePath, 'AppData\Roaming\Microsoft\Windows\Libraries')
            if ($profilePath.Length -eq 0 -or -not [IO.Directory]::Exists($dir)) {
                continue
            }
            foreach ($file in @([IO.Directory]::GetFiles($dir, '*.library-ms'))) {
                $doc = New-Object Xml.XmlDocument
                $doc.XmlResolver = $null
                try {
                    $doc.Load($file)
                } catch {
                    continue  # not a library we can read: say nothing rather than guess
                }
                $locations = New-Object System.Collections.ArrayList
                foreach ($node in @($doc.GetElementsByTagName('url'))) {
                    $url = [string]$node.InnerText
                    if ($url -notmatch '^([A-Za-z]:\\|\\\\)') {
                        continue
                    }
                    [void]$locations.Add((ConvertTo-WbJsonObject @(
                                'path', (ConvertTo-WbJsonString $url),
                                'available', (ConvertTo-WbJsonBool ([IO.Directory]::Exists($url))))))
                }
                $name = [IO.Path]::GetFileNameWithoutExtension($file)
                [void]$keys.Add($profilePath + [char]9 + $name)
                [void]$items.Add((ConvertTo-WbJsonObject @(
                            'profile', (ConvertTo-WbJsonString $profilePath),
                            'name', (ConvertTo-WbJsonString $name),
                            'locations', (ConvertTo-WbJsonList $locations.ToArray()))))
            }
        }
    } finally {
        $list.Close()
    }
    return (ConvertTo-WbJsonList (Get-WbSortedItems ([string[]]$keys.ToArray()) $items.ToArray()))
}

# ---------------------------------------------------------------- printers ---

function Get-WbPrinters {
    # Win32_Printer (docs/domain.md s.4: works on Windows 7, unlike Get-Printer).
    $keys = New-Object System.Collections.ArrayList
    $items = New-Object System.Collections.ArrayList
    foreach ($p in @(Get-WmiObject -Class Win32_Printer)) {
        [void]$keys.Add([string]$p.Name)
        [void]$items.Add((ConvertTo-WbJsonObject @(
                    'name', (ConvertTo-WbJsonString ([string]$p.Name)),
                    'driver', (ConvertTo-WbJsonString ([string]$p.DriverName)),
                    'port', (ConvertTo-WbJsonString ([string]$p.PortName)))))
    }
    return (ConvertTo-WbJsonList (Get-WbSortedItems ([string[]]$keys.ToArray()) $items.ToArray()))
}

function Get-WbPrinterDrivers {
    # Win32_PrinterDriver.Name is "<driver>,<version>,<environment>".
    $keys = New-Object System.Collections.ArrayList
    $items = New-Object System.Collections.ArrayList
    foreach ($d in @(Get-WmiObject -Class Win32_PrinterDriver)) {
        $name = [string]$d.Name
        $environment = [string]$d.SupportedPlatform
        $version = $d.Version
        if ($name -match '^(.*),([0-9]+),([^,]*)\z') {
            $name = $Matches[1]
            $version = [int]$Matches[2]
            $environment = $Matches[3]
        }
        [void]$keys.Add($name + [char]9 + $environment)
        [void]$items.Add((ConvertTo-WbJsonObject @(
                    'name', (ConvertTo-WbJsonString $name),
                    'environment', (ConvertTo-WbJsonString $environment),
                    'version', (ConvertTo-WbJsonNumber $version))))
    }
    return (ConvertTo-WbJsonList (Get-WbSortedItems ([string[]]$keys.ToArray()) $items.ToArray()))
}

# ------------------------------------------------------- restart / reboot ---

function Add-WbRunningDependents {
    # The running services that depend on $Controller, directly or not,
    # deepest first: the order in which they can be stopped.
    param($Controller, $Order, $Seen)
    foreach ($dependent in $Controller.DependentServices) {
        $key = $dependent.ServiceName.ToLowerInvariant()
        if ($Seen.ContainsKey($key)) {
            continue
        }
        $Seen[$key] = $true
        Add-WbRunningDependents $dependent $Order $Seen
        if ([string]$dependent.Status -ne 'Stopped') {
            [void]$Order.Add($dependent.ServiceName)
        }
    }
}

function Get-WbServiceStates {
    # "Name State (code)" for each of $Names, in order: what a failed restart
    # left, read back from the SCM (docs/agent-review.md likely bug 8).
    param([object[]]$Names, $Codes)
    $parts = New-Object System.Collections.ArrayList
    foreach ($n in $Names) {
        $state = 'Unknown'
        try {
            $state = [string](Find-WbController ([string]$n)).Status
        } catch {
            $state = 'Unknown'
        }
        $part = [string]$n + ' ' + $state
        if ($Codes.ContainsKey([string]$n)) {
            $part += ' (' + $Codes[[string]$n] + ')'
        }
        [void]$parts.Add($part)
    }
    return ($parts.ToArray() -join ', ')
}

function Restart-WbService {
    # Restart-Service -Force: stop the running dependents and the service,
    # start the service, then the dependents again (a failed writer's state
    # lives in its service's process, docs/domain.md s.2).  A Disabled
    # service is refused first (1058), before anything is stopped.
    # A failure restores what it can (docs/agent-review.md likely bug 8): a
    # stop that fails (1051, a timeout) starts again what was stopped; a start
    # of the service that fails is tried once more (a slow start's 1053), and
    # the dependents are started anyway, each failing with its own code.  The
    # op then fails with the first error and every service's final state.
    param([string]$Name)
    $sc = Find-WbController $Name
    $info = Get-WbServiceKeyInfo $sc.ServiceName
    if ($null -ne $info.Start -and [int]$info.Start -eq 4) {
        throw (New-WbFailure 1058)
    }
    $order = New-Object System.Collections.ArrayList
    Add-WbRunningDependents $sc $order @{}
    $codes = @{}
    $first = $null
    try {
        foreach ($dependent in $order) {
            [void](Stop-WbService $dependent)
        }
        [void](Stop-WbService $sc.ServiceName)
    } catch {
        $first = Get-WbErrorInfo $_.Exception
    }
    $target = $sc.ServiceName
    $tries = 2
    if ($null -ne $first) {
        $tries = 1
    }
    for ($attempt = 1; $attempt -le $tries; $attempt++) {
        try {
            [void](Start-WbService $target)
            $codes.Remove($target)
            break
        } catch {
            $err = Get-WbErrorInfo $_.Exception
            $codes[$target] = $err.Code
            if ($null -eq $first -and $attempt -eq $tries) {
                $first = $err
            }
        }
    }
    for ($i = $order.Count - 1; $i -ge 0; $i--) {
        try {
            [void](Start-WbService $order[$i])
        } catch {
            $err = Get-WbErrorInfo $_.Exception
            $codes[[string]$order[$i]] = $err.Code
            if ($null -eq $first) {
                $first = $err
            }
        }
    }
    if ($null -ne $first) {
        $names = @($target) + @($order.ToArray())
        throw (New-WbFailure $first.Code ('the restart failed; final states: ' +
                (Get-WbServiceStates $names $codes) + '; ' + $first.Message))
    }
    return 'null'
}

function Restart-WbHost {
    # "shutdown /r /t <notice> /c <reason>" without a command line: the reason
    # is a typed argument of Win32ShutdownTracker (Vista+).  A signed-in user
    # sees the warning for NoticeMinutes (5 unless told; a few seconds lose
    # their work, docs/domain-review.md A.2).  Forced, as shutdown implies /f
    # with /t > 0; reason "planned: application maintenance".  Returns at
    # once, so the answer leaves before the PC goes down.
    param([string]$Reason, $NoticeMinutes)
    if ($null -eq $NoticeMinutes) {
        $NoticeMinutes = 5
    }
    if ([int]$NoticeMinutes -lt 0 -or [int]$NoticeMinutes -gt 720) {
        throw (New-WbFailure 87 "argument 'notice_minutes' must be 0-720")
    }
    if ($Reason.Length -gt 512) {
        $Reason = $Reason.Substring(0, 512)
    }
    $os = @(Get-WmiObject -Class Win32_OperatingSystem -EnableAllPrivileges)[0]
    $in = $os.psbase.GetMethodParameters('Win32ShutdownTracker')
    $in.psbase.SetPropertyValue('Timeout', [uint32]([int]$NoticeMinutes * 60))
    $in.psbase.SetPropertyValue('Comment', $Reason)
    $in.psbase.SetPropertyValue('ReasonCode', [uint32]2147745793)
    $in.psbase.SetPropertyValue('Flags', [int]6)
    $result = $os.psbase.InvokeMethod('Win32ShutdownTracker', $in, $null)
    $rc = [int]$result.psbase.GetPropertyValue('ReturnValue')
    if ($rc -ne 0) {
        throw (New-WbFailure $rc)
    }
    return 'null'
}

function Get-WbLockHolder {
    # The PC-side lock's holder as JSON text, or $null when there is no lock
    # file.  A file cut short (a PC that lost power while it was written) holds
    # no run: its run is '' and only its age can free it.
    param([string]$Path)
    if (-not [IO.File]::Exists($Path)) {
        return $null
    }
    try {
        $lines = [IO.File]::ReadAllLines($Path, (New-Object Text.UTF8Encoding $false))
        $age = ([DateTime]::UtcNow - [IO.File]::GetLastWriteTimeUtc($Path)).TotalSeconds
    } catch {
        if (-not [IO.File]::Exists($Path)) {
            return $null
        }
        throw
    }
    $fields = @('', '', '')
    for ($i = 0; $i -lt 3 -and $i -lt $lines.Length; $i++) {
        $fields[$i] = [string]$lines[$i]
    }
    return (ConvertTo-WbJsonObject @(
        'run', (ConvertTo-WbJsonString $fields[0]),
        'controller', (ConvertTo-WbJsonString $fields[1]),
        'started', (ConvertTo-WbJsonString $fields[2]),
        'age_s', (ConvertTo-WbJsonNumber ([long][Math]::Floor($age)))))
}

function Invoke-WbHostLock {
    # The PC-side host lock (ops.py "The PC-side host lock"): one file,
    # %ProgramData%\wbplay\lock, created with FileMode.CreateNew, so that of two
    # controllers changing this PC at once exactly one creates it (NTFS
    # creates a file atomically; the loser gets ERROR_FILE_EXISTS).  Holder
    # fields and their age travel back as data, for the refusal to name them.
    param([string]$Action, [string]$Run, [string]$Controller, [int]$StaleAfter, $Steal)
    if ($Run -eq '' -or $Run.IndexOfAny([char[]]@("`r", "`n")) -ge 0 -or
        $Controller.IndexOfAny([char[]]@("`r", "`n")) -ge 0) {
        throw (New-WbFailure 87 "run must be one non-empty line, controller one line")
    }
    $dir = [IO.Path]::Combine([Environment]::GetFolderPath('CommonApplicationData'), 'wbplay')
    $path = [IO.Path]::Combine($dir, 'lock')
    if ($Action -ceq 'release') {
        $holder = Get-WbLockHolder $path
        $lines = $null
        if ($null -ne $holder) {
            $lines = [IO.File]::ReadAllLines($path, (New-Object Text.UTF8Encoding $false))
        }
        if ($null -ne $lines -and $lines.Length -gt 0 -and [string]$lines[0] -ceq $Run) {
            [IO.File]::Delete($path)
        }
        if ($null -eq $holder) {
            $holder = 'null'
        }
        return (ConvertTo-WbJsonObject @('held', 'false', 'holder', $holder, 'replaced', 'null'))
    }
    if ($Action -cne 'acquire') {
        throw (New-WbFailure 87 "argument 'action' must be acquire or release")
    }
    if (-not [IO.Directory]::Exists($dir)) {
        [void][IO.Directory]::CreateDirectory($dir)
    }
    $replaced = 'null'
    for ($attempt = 0; $attempt -lt 3; $attempt++) {
        $stream = $null
        try {
            $stream = [IO.File]::Open($path, [IO.FileMode]::CreateNew, [IO.FileAccess]::Write, [IO.FileShare]::None)
        } catch {
            if (-not [IO.File]::Exists($path)) {
                throw
            }
        }
        if ($null -ne $stream) {
            $started = [DateTime]::UtcNow.ToString('yyyy-MM-ddTHH:mm:ssZ', $WbInvariant)
            $bytes = (New-Object Text.UTF8Encoding $false).GetBytes($Run + "`r`n" + $Controller + "`r`n" + $started + "`r`n")
            try {
                $stream.Write($bytes, 0, $bytes.Length)
            } finally {
                $stream.Close()
            }
            $me = ConvertTo-WbJsonObject @(
                'run', (ConvertTo-WbJsonString $Run),
                'controller', (ConvertTo-WbJsonString $Controller),
                'started', (ConvertTo-WbJsonString $started),
                'age_s', '0')
            return (ConvertTo-WbJsonObject @('held', 'true', 'holder', $me, 'replaced', $replaced))
        }
        $holder = Get-WbLockHolder $path
        if ($null -eq $holder) {
            continue
        }
        $lines = [IO.File]::ReadAllLines($path, (New-Object Text.UTF8Encoding $false))
        $age = ([DateTime]::UtcNow - [IO.File]::GetLastWriteTimeUtc($path)).TotalSeconds
        $owner = ''
        if ($lines.Length -gt 0) {
            $owner = [string]$lines[0]
        }
        if ($owner -ceq $Run) {
            # Ours already: an answer lost on the wire, the same acquire sent again.
            return (ConvertTo-WbJsonObject @('held', 'true', 'holder', $holder, 'replaced', 'null'))
        }
        $stolen = ($null -ne $Steal -and $Steal -ne '' -and $owner -ceq $Steal)
        if ($age -lt $StaleAfter -and -not $stolen) {
            return (ConvertTo-WbJsonObject @('held', 'false', 'holder', $holder, 'replaced', 'null'))
        }
        # Stale: delete it and create ours; a controller doing the same at once
        # loses the next CreateNew, so still exactly one holds it.
        [IO.File]::Delete($path)
        $replaced = $holder
    }
    throw (New-WbFailure 32 "the host lock $path kept changing while it was taken over; try again")
}
