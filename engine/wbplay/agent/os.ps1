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
