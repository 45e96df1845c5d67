# ----------------------------------------------------------------- os.info ---

function Get-WbOemCodePage {
    # The system OEM codepage (what native tools print in); the console's
    # OutputEncoding reflects the WinRS shell codepage instead.
    $oem = [Globalization.CultureInfo]::CurrentCulture.TextInfo.OEMCodePage
    $oemcp = [string](Get-WbHklmValue 'SYSTEM\CurrentControlSet\Control\Nls\CodePage' 'OEMCP')
    if ($oemcp -match '^[0-9]{1,5}\z') {
        $oem = [int]$oemcp
    }
    return $oem
}

function Get-WbOsInfo {
    $os = $null
    $boot = $null
    try {
        $os = @(Get-WmiObject -Class Win32_OperatingSystem)[0]
    } catch {
        # A broken WMI repository is itself a classic cause of backup
        # failures: fall back to the registry rather than fail the whole run.
        $os = $null
    }
    if ($null -ne $os) {
        $caption = ([string]$os.Caption).Trim()
        $version = [string]$os.Version
        $build = [int]$os.BuildNumber
        $sp = [int]$os.ServicePackMajorVersion
        $workstation = ([int]$os.ProductType -eq 1)
        # The runner waits for this to change after host.reboot.
        try {
            $boot = [Management.ManagementDateTimeConverter]::ToDateTime([string]$os.LastBootUpTime).ToUniversalTime()
            $boot = $boot.ToString('yyyy-MM-dd\THH:mm:ss\Z', $WbInvariant)
        } catch {
            $boot = $null
        }
    } else {
        $cv = 'SOFTWARE\Microsoft\Windows NT\CurrentVersion'
        $caption = ([string](Get-WbHklmValue $cv 'ProductName')).Trim()
        $osv = [Environment]::OSVersion.Version
        $build = [int](Get-WbHklmValue $cv 'CurrentBuildNumber')
        $version = [string]$osv.Major + '.' + [string]$osv.Minor + '.' + [string]$build
        $sp = 0
        if ([Environment]::OSVersion.ServicePack -match '([0-9]+)') {
            $sp = [int]$Matches[1]
        }
        $productType = [string](Get-WbHklmValue 'SYSTEM\CurrentControlSet\Control\ProductOptions' 'ProductType')
        $workstation = ($productType -eq 'WinNT')
    }
    # The OS architecture, from the environment (OSArchitecture is missing on
    # old builds and localized, e.g. "64 bits").  PROCESSOR_ARCHITEW6432 is set
    # only in a 32-bit process on 64-bit Windows and names the OS's.
    $arch = [Environment]::GetEnvironmentVariable('PROCESSOR_ARCHITEW6432')
    if (-not $arch) {
        $arch = [Environment]::GetEnvironmentVariable('PROCESSOR_ARCHITECTURE')
    }
    $archName = ([string]$arch).ToLowerInvariant()
    if ($archName -eq 'amd64') {
        $archName = 'x64'
    }
    $oem = Get-WbOemCodePage
    $productName = 'server'
    if ($workstation) {
        $productName = 'workstation'
    }
    return (ConvertTo-WbJsonObject @(
            'hostname', (ConvertTo-WbJsonString ([Environment]::MachineName)),
            'caption', (ConvertTo-WbJsonString $caption),
            'version', (ConvertTo-WbJsonString $version),
            'build', (ConvertTo-WbJsonNumber $build),
            'sp', (ConvertTo-WbJsonNumber $sp),
            'ps_version', (ConvertTo-WbJsonString $PSVersionTable.PSVersion.ToString()),
            'locale', (ConvertTo-WbJsonString ([Globalization.CultureInfo]::CurrentCulture.Name)),
            'oem_codepage', (ConvertTo-WbJsonNumber $oem),
            'product_type', (ConvertTo-WbJsonString $productName),
            'arch', (ConvertTo-WbJsonString $archName),
            'boot_time', (ConvertTo-WbJsonString $boot)))
}

function Get-WbWinrsQuota {
    # A winrs quota in effect: the policy value (GPO, wins) or WinRM's config
    # ($Config: winrm/config/winrs as the WSMan.Automation COM API gives it);
    # $null when neither can be read (no rights, WinRM not configured).
    param([string]$Name, [string]$Config)
    $policy = [string](Get-WbHklmValue 'SOFTWARE\Policies\Microsoft\Windows\WinRM\Service\WinRS' $Name)
    if ($policy -match '^[0-9]{1,9}\z') {
        return [int]$policy
    }
    if ($Config -match ('<(\w+:)?' + $Name + '>([0-9]{1,9})<')) {
        return [int]$Matches[2]
    }
    return $null
}

function Get-WbWinrsConfig {
    # winrm/config/winrs as the WSMan.Automation COM API gives it (XML), or ''.
    try {
        return [string](New-Object -ComObject WSMan.Automation).CreateSession().Get('winrm/config/winrs')
    } catch {
        return ''
    }
}

function Write-WbQuotaWarning {
    # Before a long repair (chkdsk /F or /R now, sfc /scannow): a winrs
    # memory quota under 1024 MB (WinRM 2.0's default is 150) may let WinRM
    # kill the tool and the shell mid-run (docs/agent-review.md likely bug 5).
    # A live line, shown while the op runs; the op goes on.
    $mb = Get-WbWinrsQuota 'MaxMemoryPerShellMB' (Get-WbWinrsConfig)
    if ($null -ne $mb -and $mb -lt 1024) {
        $line = 'wbplay: warning: MaxMemoryPerShellMB is ' + $mb + '; WinRM may stop this tool mid-run ' +
            '(winrm set winrm/config/winrs @{MaxMemoryPerShellMB="1024"})'
        Write-WbLiveText @{ Tail = '' } @{ Last = $null; Off = $false } $line -Final
    }
}

function Get-WbAgentEnvironment {
    # What the agent runs in (wbplay doctor): the language mode (FullLanguage
    # here: the bootstrap stops under any other), PowerShell and CLR, 32/64
    # bit, the shell's and the OEM codepage, and the winrs quotas that can
    # kill a long tool mid-run (WinRM 2.0 on Windows 7 defaults to 150 MB
    # per shell, children included: docs/agent-review.md likely bug 5).
    $shellCp = $null
    try {
        $shellCp = [Console]::OutputEncoding.CodePage
    } catch {
        $shellCp = $null
    }
    $os64 = ([IntPtr]::Size -eq 8) -or [bool][Environment]::GetEnvironmentVariable('PROCESSOR_ARCHITEW6432')
    $winrs = Get-WbWinrsConfig
    return (ConvertTo-WbJsonObject @(
            'language_mode', (ConvertTo-WbJsonString ([string]$ExecutionContext.SessionState.LanguageMode)),
            'ps_version', (ConvertTo-WbJsonString $PSVersionTable.PSVersion.ToString()),
            'clr_version', (ConvertTo-WbJsonString $PSVersionTable.CLRVersion.ToString()),
            'os_64bit', (ConvertTo-WbJsonBool $os64),
            'process_64bit', (ConvertTo-WbJsonBool ([IntPtr]::Size -eq 8)),
            'shell_codepage', (ConvertTo-WbJsonNumber $shellCp),
            'oem_codepage', (ConvertTo-WbJsonNumber (Get-WbOemCodePage)),
            'winrs_max_memory_mb', (ConvertTo-WbJsonNumber (Get-WbWinrsQuota 'MaxMemoryPerShellMB' $winrs)),
            'winrs_max_shells_per_user', (ConvertTo-WbJsonNumber (Get-WbWinrsQuota 'MaxShellsPerUser' $winrs))))
}
