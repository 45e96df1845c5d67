# wbplay agent: performs host operations sent as DATA and prints one framed,
# ASCII-only JSON response.  The wire format is defined in protocol.py.
#
# Targets Windows PowerShell 2.0 (Windows 7 SP1 / Server 2008 R2 on .NET 2.0/3.5)
# up to 5.1.  Hence: no ConvertTo-Json, [pscustomobject], [ordered], -in, ::new(),
# Get-CimInstance, member enumeration; Get-WmiObject, New-Object and hashtables
# instead.  PS2 traps that shape this file: a function's stray output becomes
# part of its return value (every .Add() is [void]); arrays returned from a
# function are unrolled (lists are returned as ,$list); foreach over $null runs
# once (never loop over something that may be $null).
#
# Safety: every request value arrives as base64 or digits and is only ever
# passed to .NET / WMI APIs as an argument.  Nothing from the request is pasted
# into code, a WQL filter or a wildcard path.  Native tools (chkdsk, vssadmin...)
# get fixed switches plus volume names the host itself reported, each checked
# again by Join-WbArguments (native.ps1).
#
# The agent is several files run as one script, in protocol.AGENT_PARTS order:
# agent.ps1 (this: state, errors, JSON, request), registry.ps1, os.ps1,
# services.ps1, paths.ps1, events.ps1, native.ps1, storage.ps1, commands.ps1,
# system.ps1 and main.ps1 (dispatcher, main).  A part calls only functions of
# the parts before it.
#
# Started by the bootstrap as:  & ([ScriptBlock]::Create($agentText)) $requestText
param([string]$Request)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$WbInvariant = [Globalization.CultureInfo]::InvariantCulture

# Write ops: refused unless the request says "write".  Must match ops.OP_SPECS.
$WbWriteOps = @{
    'service.set_start_mode' = $true
    'service.start' = $true
    'service.stop' = $true
    'registry.set' = $true
    'registry.delete' = $true
    'path.rename' = $true
    'path.delete' = $true
    'chkdsk.schedule' = $true
    'chkdsk.run' = $true
    'sfc.scannow' = $true
    'dism.restorehealth' = $true
    'shadowstorage.add' = $true
    'shadowstorage.resize' = $true
    'shadowstorage.delete' = $true
    'winre.disable' = $true
    'winre.enable' = $true
    'service.restart' = $true
    'host.reboot' = $true
    'host.lock' = $true
}

# Ops whose tools take minutes to hours: while one runs, Invoke-WbNative
# prints each line of the tool's output before the frame (Write-WbLiveText),
# so the operator sees progress.  Must match ops.SLOW_OPS.
$WbSlowOps = @{
    'chkdsk.scan' = $true
    'chkdsk.run' = $true
    'dism.scanhealth' = $true
    'dism.restorehealth' = $true
    'sfc.verifyonly' = $true
    'sfc.scannow' = $true
}

# Registry view.  A 32-bit PowerShell on 64-bit Windows sees HKLM\SOFTWARE
# through WOW6432Node.  .NET 4 (PS3+) can ask for the 64-bit view explicitly
# (OpenBaseKey + RegistryView.Registry64, which is simply the native view on
# 32-bit Windows).  .NET 2 (PS2) cannot pick a view: there we rely on WinRM
# starting the native 64-bit powershell.exe, and refuse registry ops outright
# in a 32-bit PS2 on 64-bit Windows rather than return the wrong view's data.
$WbState = @{
    Services = $null
    Volumes = $null
    Native = $null
    BaseKeys = @{}
    CanPickView = ($null -ne [Microsoft.Win32.RegistryKey].GetMethod('OpenBaseKey'))
    WowBlind = $false
    Live = $false
    ServiceWait = 120
}
# How long a service start or stop may take (an op's wait_s overrides it):
# longer than the SCM's 30 s, since a slow wbengine or VSS start on a Windows 7
# HDD PC is still starting when 30 s have passed (docs/agent-review.md likely
# bug 9), and longest on PowerShell 2.0, that is on Windows 7.
if ($PSVersionTable.PSVersion.Major -lt 3) {
    $WbState.ServiceWait = 180
}
if (-not $WbState.CanPickView -and [IntPtr]::Size -eq 4 -and
    [Environment]::GetEnvironmentVariable('PROCESSOR_ARCHITEW6432')) {
    $WbState.WowBlind = $true
}

# ------------------------------------------------------------------ errors ---

function New-WbFailure {
    param($Code, [string]$Message)
    # Win32Exception(code) carries Windows' own (localized) text for the code.
    # An HRESULT above 0x7FFFFFFF (VSS's 0x8004230D...) is kept as the same 32
    # bits, signed; Get-WbErrorInfo reports it unsigned again.
    $bits = [decimal]$Code
    if ($bits -gt 2147483647) {
        $bits -= 4294967296
    }
    $native = [int]$bits
    if ($Message) {
        return (New-Object System.ComponentModel.Win32Exception -ArgumentList $native, $Message)
    }
    return (New-Object System.ComponentModel.Win32Exception -ArgumentList $native)
}

function Get-WbErrorInfo {
    param($Exception)
    # PowerShell wraps .NET exceptions (MethodInvocationException), and .NET
    # wraps the Win32Exception (InvalidOperationException for services): take
    # the Win32 code Windows reported, anywhere in the chain.
    $e = $Exception
    $innermost = $Exception
    while ($null -ne $e) {
        if ($e -is [System.ComponentModel.Win32Exception]) {
            $native = [long]$e.NativeErrorCode
            if ($native -lt 0) {
                $native += 4294967296
            }
            if ($native -eq 0) {
                $native = 1
            }
            return @{ Code = $native; Message = [string]$e.Message }
        }
        $innermost = $e
        $e = $e.InnerException
    }
    $code = 1
    if ($innermost -is [System.Management.Automation.ItemNotFoundException]) {
        $code = 2
    } elseif ($innermost -is [System.UnauthorizedAccessException] -or
              $innermost -is [System.Security.SecurityException]) {
        $code = 5
    } else {
        # Exception.HResult is not public before .NET 4.5; GetHRForException is.
        # An HRESULT 0x8007xxxx (FACILITY_WIN32) carries the Win32 code in its
        # low word (IOException for "already exists" is 0x800700B7 -> 183).
        # Decimal arithmetic only: hex literals and -shr differ across versions.
        $hr = [long][System.Runtime.InteropServices.Marshal]::GetHRForException($innermost)
        if ($hr -lt 0) {
            $hr += 4294967296
        }
        # WMI and COM failures keep their HRESULT (0x80041003, VSS's
        # 0x8004xxxx...): more telling than 1.  By type name: System.Management
        # may not be loaded, and an unknown type literal would throw here.
        $typeName = $innermost.GetType().FullName
        if ([Math]::Floor($hr / 65536) -eq 32775 -and ($hr % 65536) -ne 0) {
            $code = [int]($hr % 65536)
        } elseif ($typeName -eq 'System.Management.ManagementException') {
            $code = [long][int]$innermost.ErrorCode
            if ($code -lt 0) {
                $code += 4294967296
            }
        } elseif ($typeName -eq 'System.Runtime.InteropServices.COMException' -and $hr -gt 2147483648) {
            $code = $hr
        }
    }
    return @{ Code = $code; Message = [string]$innermost.Message }
}

# -------------------------------------------------------------------- JSON ---
# Hand-written (ConvertTo-Json is PS3+).  Every char outside 0x20-0x7E becomes
# \uXXXX (UTF-16 code units, so non-BMP chars come out as surrogate pairs):
# the output is pure ASCII, immune to the console codepage and to BOMs.
# Op handlers build JSON text directly; a string can never be unrolled.

function ConvertTo-WbJsonString {
    param($Value)
    if ($null -eq $Value) {
        return 'null'
    }
    $s = [string]$Value
    # \z, not $: in .NET, $ also matches before a final newline.
    # < and > are escaped too, so no value (a file name, an event message) can fake a frame marker.
    if ($s -cmatch '^[\x20\x21\x23-\x3B\x3D\x3F-\x5B\x5D-\x7E]*\z') {
        return '"' + $s + '"'
    }
    $sb = New-Object System.Text.StringBuilder
    [void]$sb.Append('"')
    foreach ($ch in $s.ToCharArray()) {
        $n = [int]$ch
        if ($n -eq 34) {
            [void]$sb.Append('\"')
        } elseif ($n -eq 92) {
            [void]$sb.Append('\\')
        } elseif ($n -ge 32 -and $n -le 126 -and $n -ne 60 -and $n -ne 62) {
            [void]$sb.Append($ch)
        } else {
            [void]$sb.Append('\u' + $n.ToString('x4'))
        }
    }
    [void]$sb.Append('"')
    return $sb.ToString()
}

function ConvertTo-WbJsonNumber {
    param($Value)
    if ($null -eq $Value) {
        return 'null'
    }
    # [decimal] holds every Int64 and UInt64 exactly; invariant culture so a
    # de-DE or fa-IR PC still writes plain ASCII digits.
    return ([decimal]$Value).ToString($WbInvariant)
}

function ConvertTo-WbJsonBool {
    param($Value)
    if ($Value) {
        return 'true'
    }
    return 'false'
}

function ConvertTo-WbJsonObject {
    # Pairs: name, JSON text, name, JSON text, ... (hashtables are unordered on PS2).
    param([object[]]$Pairs)
    if ($null -eq $Pairs) {
        return '{}'
    }
    $parts = New-Object System.Collections.ArrayList
    for ($i = 0; $i -lt $Pairs.Length; $i += 2) {
        [void]$parts.Add((ConvertTo-WbJsonString $Pairs[$i]) + ':' + [string]$Pairs[$i + 1])
    }
    return '{' + (@($parts) -join ',') + '}'
}

function ConvertTo-WbJsonList {
    # Items: JSON texts.
    param([object[]]$Items)
    if ($null -eq $Items) {
        return '[]'
    }
    return '[' + ($Items -join ',') + ']'
}

function Write-WbFrame {
    param([string]$Json)
    # [Console]::Out, not the pipeline: PowerShell's formatter may wrap long
    # lines at the host width; Console.Out writes the bytes as they are.
    $out = [Console]::Out
    $out.Write("<<<WBPLAY-BEGIN>>>`r`n" + $Json + "`r`n<<<WBPLAY-END>>>`r`n")
    $out.Flush()
}

# ----------------------------------------------------------------- request ---

function ConvertFrom-WbBase64 {
    param([string]$Text)
    return [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($Text))
}

function ConvertFrom-WbInteger {
    param([string]$Text)
    if ($Text -notmatch '^-?[0-9]{1,20}\z') {
        throw "wbplay request: bad integer '$Text'"
    }
    return [decimal]::Parse($Text, [Globalization.NumberStyles]::AllowLeadingSign, $WbInvariant)
}

function ConvertFrom-WbTypedValue {
    param([string]$Text)
    if ($Text.Length -lt 2 -or $Text.Substring(1, 1) -cne ':') {
        throw "wbplay request: bad typed value"
    }
    $tag = $Text.Substring(0, 1)
    $body = $Text.Substring(2)
    switch -casesensitive ($tag) {
        's' {
            return (ConvertFrom-WbBase64 $body)
        }
        'i' {
            return (ConvertFrom-WbInteger $body)
        }
        'b' {
            if ($body -ceq '1') {
                return $true
            }
            if ($body -ceq '0') {
                return $false
            }
            throw "wbplay request: bad boolean '$body'"
        }
        'n' {
            if ($body -ne '') {
                throw 'wbplay request: bad null'
            }
            return $null
        }
        'l' {
            $strings = New-Object System.Collections.ArrayList
            if ($body -ne '') {
                foreach ($part in $body.Split(',')) {
                    # "=" is the empty string (protocol.py: plain "" would make
                    # a one-empty-item list look like an empty list).
                    if ($part -ceq '=') {
                        [void]$strings.Add('')
                    } else {
                        [void]$strings.Add((ConvertFrom-WbBase64 $part))
                    }
                }
            }
            $stringArray = [string[]]@($strings)
            return ,$stringArray
        }
        'j' {
            $numbers = New-Object System.Collections.ArrayList
            if ($body -ne '') {
                foreach ($part in $body.Split(',')) {
                    [void]$numbers.Add((ConvertFrom-WbInteger $part))
                }
            }
            $numberArray = [decimal[]]@($numbers)
            return ,$numberArray
        }
    }
    throw "wbplay request: unknown type tag '$tag'"
}

function Read-WbRequest {
    param([string]$Text)
    $lines = New-Object System.Collections.ArrayList
    foreach ($raw in $Text.Split([char]10)) {
        $line = $raw.TrimEnd([char]13)
        if ($line.Length -gt 0) {
            [void]$lines.Add($line)
        }
    }
    if ($lines.Count -lt 1) {
        throw 'wbplay request: the request is empty'
    }
    $head = ([string]$lines[0]).Split([char]32)
    if ($head.Length -ne 3 -or $head[0] -cne 'WBPLAY-REQUEST' -or $head[1] -cne '1') {
        throw 'wbplay request: bad header (expected "WBPLAY-REQUEST 1 <mode>")'
    }
    $mode = $head[2]
    if ($mode -cne 'read' -and $mode -cne 'write') {
        throw "wbplay request: bad mode '$mode'"
    }
    $ops = New-Object System.Collections.ArrayList
    for ($i = 1; $i -lt $lines.Count; $i++) {
        $fields = ([string]$lines[$i]).Split([char]9)
        if ($fields.Length -lt 2 -or $fields[0] -cne [string]($i - 1)) {
            throw "wbplay request: line $i is malformed"
        }
        $opArgs = @{}
        for ($f = 2; $f -lt $fields.Length; $f++) {
            $field = $fields[$f]
            $eq = $field.IndexOf([char]61)
            if ($eq -lt 1) {
                throw "wbplay request: line $i has a malformed argument"
            }
            $argName = $field.Substring(0, $eq)
            if ($argName -cnotmatch '^[a-z_][a-z0-9_]*\z' -or $opArgs.ContainsKey($argName)) {
                throw "wbplay request: line $i has a bad or repeated argument name"
            }
            $opArgs[$argName] = (ConvertFrom-WbTypedValue ($field.Substring($eq + 1)))
        }
        [void]$ops.Add(@{ Name = $fields[1]; Args = $opArgs })
    }
    return @{ Mode = $mode; Ops = $ops }
}

function Get-WbArg {
    # A scalar argument, type-checked.  Lists are read from the table directly
    # (returning them from a function would unroll them).
    param($OpArgs, [string]$Name, [string]$Kind, [switch]$Optional)
    if (-not $OpArgs.ContainsKey($Name) -or $null -eq $OpArgs[$Name]) {
        if ($Optional) {
            return $null
        }
        throw (New-WbFailure 87 "missing argument '$Name'")
    }
    $v = $OpArgs[$Name]
    if ($Kind -ceq 'string') {
        if ($v -isnot [string]) {
            throw (New-WbFailure 87 "argument '$Name' must be a string")
        }
        return $v
    }
    if ($Kind -ceq 'integer') {
        if ($v -isnot [decimal] -or $v -lt [int]::MinValue -or $v -gt [int]::MaxValue) {
            throw (New-WbFailure 87 "argument '$Name' must be an integer")
        }
        return [int]$v
    }
    throw "internal: unknown argument kind $Kind"
}
