# ------------------------------------------------------------------ events ---

function ConvertTo-WbEventJson {
    param($Record)
    $level = 'Information'
    $levelNumber = 0
    if ($null -ne $Record.Level) {
        $levelNumber = [int]$Record.Level
    }
    # By number, not LevelDisplayName, which is localized.
    switch ($levelNumber) {
        1 {
            $level = 'Critical'
        }
        2 {
            $level = 'Error'
        }
        3 {
            $level = 'Warning'
        }
        5 {
            $level = 'Verbose'
        }
    }
    $time = $null
    if ($null -ne $Record.TimeCreated) {
        $time = $Record.TimeCreated.ToUniversalTime().ToString('yyyy-MM-dd\THH:mm:ss\Z', $WbInvariant)
    }
    $message = $null
    try {
        # May be null (missing message DLL, or PS2's culture bug on non-en-US).
        $message = $Record.Message
    } catch {
        $message = $null
    }
    # Named fields from the event XML: templates change between Windows
    # versions, names do not.  Unnamed (classic) Data elements are skipped.
    $doc = New-Object System.Xml.XmlDocument
    $doc.LoadXml($Record.ToXml())
    $ns = New-Object System.Xml.XmlNamespaceManager -ArgumentList $doc.NameTable
    $ns.AddNamespace('e', 'http://schemas.microsoft.com/win/2004/08/events/event')
    $pairs = New-Object System.Collections.ArrayList
    $seen = @{}
    foreach ($node in $doc.SelectNodes('/e:Event/e:EventData/e:Data', $ns)) {
        $fieldName = $node.GetAttribute('Name')
        if ($fieldName -eq '' -or $seen.ContainsKey($fieldName)) {
            continue
        }
        $seen[$fieldName] = $true
        [void]$pairs.Add($fieldName)
        [void]$pairs.Add((ConvertTo-WbJsonString $node.InnerText))
    }
    return (ConvertTo-WbJsonObject @(
            'log', (ConvertTo-WbJsonString $Record.LogName),
            'provider', (ConvertTo-WbJsonString $Record.ProviderName),
            'id', (ConvertTo-WbJsonNumber $Record.Id),
            'level', (ConvertTo-WbJsonString $level),
            'time', (ConvertTo-WbJsonString $time),
            'message', (ConvertTo-WbJsonString $message),
            'fields', (ConvertTo-WbJsonObject $pairs.ToArray())))
}

function Test-WbNoMatch {
    # Get-WinEvent reports "nothing there" as an error; by its error id (the
    # message text is localized).
    param($ErrorRecord)
    if ($ErrorRecord -isnot [System.Management.Automation.ErrorRecord]) {
        return $false
    }
    $fqid = [string]$ErrorRecord.FullyQualifiedErrorId
    return ($fqid -like 'NoMatchingEventsFound*' -or $fqid -like 'NoMatchingProvidersFound*' -or
        $fqid -like 'NoMatchingLogsFound*')
}

function Get-WbEvents {
    param($OpArgs)
    $provider = Get-WbArg $OpArgs 'provider' 'string'
    $log = Get-WbArg $OpArgs 'log' 'string' -Optional
    $sinceDays = Get-WbArg $OpArgs 'since_days' 'integer' -Optional
    $max = Get-WbArg $OpArgs 'max' 'integer' -Optional
    # Without a max, stop at 1000 events: the newest are what matters, and an
    # unbounded query of a chatty provider could be huge over WinRM.
    if ($null -eq $max) {
        $max = 1000
    }
    if ($max -lt 1) {
        throw (New-WbFailure 87 "argument 'max' must be at least 1")
    }
    $filter = @{ ProviderName = $provider }
    if ($null -ne $log -and $log -ne '') {
        $filter['LogName'] = $log
    }
    if ($null -ne $sinceDays) {
        $filter['StartTime'] = (Get-Date).AddDays(-$sinceDays)
    }
    $ids = $OpArgs['ids']
    if ($null -ne $ids -and @($ids).Length -gt 0) {
        $filter['Id'] = [int[]]@($ids)
    }
    $records = @()
    $wbErrs = $null
    try {
        # Collect Get-WinEvent's own errors instead of stopping at the first:
        # "no match" is an empty answer; anything else fails the op (no
        # silently partial results).
        $records = @(Get-WinEvent -FilterHashtable $filter -MaxEvents $max -ErrorAction SilentlyContinue -ErrorVariable wbErrs)
    } catch {
        if (-not (Test-WbNoMatch $_)) {
            throw $_.Exception
        }
        $records = @()
    }
    if ($null -ne $wbErrs) {
        foreach ($err in @($wbErrs)) {
            if ($null -ne $err -and -not (Test-WbNoMatch $err)) {
                if ($err -is [System.Management.Automation.ErrorRecord]) {
                    throw $err.Exception
                }
                throw $err
            }
        }
    }
    $items = New-Object System.Collections.ArrayList
    foreach ($record in $records) {
        [void]$items.Add((ConvertTo-WbEventJson $record))
    }
    return (ConvertTo-WbJsonList $items)
}
