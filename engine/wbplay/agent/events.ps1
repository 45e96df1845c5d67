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
    # A record whose XML does not load (a character XML forbids) keeps its
    # other fields: one bad record must not cost the whole answer
    # (docs/agent-review.md likely bug 1).
    $pairs = New-Object System.Collections.ArrayList
    try {
        $doc = New-Object System.Xml.XmlDocument
        $doc.LoadXml($Record.ToXml())
        $ns = New-Object System.Xml.XmlNamespaceManager -ArgumentList $doc.NameTable
        $ns.AddNamespace('e', 'http://schemas.microsoft.com/win/2004/08/events/event')
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
    } catch {
        $pairs.Clear()
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
    # LogsAndProvidersDontOverlap: the provider's manifest does not name the
    # log, so it has no events there (PowerShell/PowerShell#15713).
    return ($fqid -like 'NoMatchingEventsFound*' -or $fqid -like 'NoMatchingProvidersFound*' -or
        $fqid -like 'NoMatchingLogsFound*' -or $fqid -like 'LogsAndProvidersDontOverlap*')
}

function Test-WbOverlapError {
    param($ErrorRecord)
    return ($ErrorRecord -is [System.Management.Automation.ErrorRecord] -and
        [string]$ErrorRecord.FullyQualifiedErrorId -like 'LogsAndProvidersDontOverlap*')
}

# Provider and log names reach Get-WinEvent's XPath and wildcards as text:
# only these characters (wbplay.vocab.ops EVENT_NAME_PATTERN, the same).
$WbEventName = '^[A-Za-z0-9 ._/-]+\z'

function Get-WbEventChunk {
    # One Get-WinEvent call.  "No match" is an empty answer, and so is the
    # "parameter is incorrect" that follows LogsAndProvidersDontOverlap.
    # Once records came back, a further error is one record's (a message it
    # cannot format: its FQID is that message), and the records stand;
    # without records any other error fails the op: no silently empty answer.
    param($Filter, [int]$Max)
    $records = @()
    $wbErrs = $null
    try {
        $records = @(Get-WinEvent -FilterHashtable $Filter -MaxEvents $Max -ErrorAction SilentlyContinue -ErrorVariable wbErrs)
    } catch {
        if (-not (Test-WbNoMatch $_)) {
            throw $_.Exception
        }
        $records = @()
    }
    $errors = @()
    if ($null -ne $wbErrs) {
        $errors = @($wbErrs)
    }
    $overlap = $false
    foreach ($err in $errors) {
        if (Test-WbOverlapError $err) {
            $overlap = $true
        }
    }
    if ($records.Length -gt 0 -or $overlap) {
        return ,$records
    }
    foreach ($err in $errors) {
        if ($null -ne $err -and -not (Test-WbNoMatch $err)) {
            if ($err -is [System.Management.Automation.ErrorRecord]) {
                throw $err.Exception
            }
            throw $err
        }
    }
    return ,$records
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
    foreach ($name in @($provider, $log)) {
        if ($null -ne $name -and $name -ne '' -and $name -cnotmatch $WbEventName) {
            throw (New-WbFailure 87 'a provider or log name may hold only letters, digits, space and ._/-')
        }
    }
    # The FilterHashtable's XPath holds about 22 clauses (KB970453): more ids
    # silently return nothing, so they go 20 at a time, newest first overall.
    $chunks = New-Object System.Collections.ArrayList
    $ids = $OpArgs['ids']
    if ($null -ne $ids -and @($ids).Length -gt 0) {
        $all = [int[]]@($ids)
        for ($i = 0; $i -lt $all.Length; $i += 20) {
            $last = [Math]::Min($i + 20, $all.Length) - 1
            [void]$chunks.Add([int[]]$all[$i..$last])
        }
    } else {
        [void]$chunks.Add($null)
    }
    $records = New-Object System.Collections.ArrayList
    foreach ($chunk in $chunks) {
        $query = $filter.Clone()
        if ($null -ne $chunk) {
            $query['Id'] = $chunk
        }
        foreach ($record in (Get-WbEventChunk $query $max)) {
            [void]$records.Add($record)
        }
    }
    $sorted = @($records.ToArray())
    if ($chunks.Count -gt 1) {
        $sorted = @($sorted | Sort-Object -Property TimeCreated -Descending | Select-Object -First $max)
    }
    $items = New-Object System.Collections.ArrayList
    foreach ($record in $sorted) {
        [void]$items.Add((ConvertTo-WbEventJson $record))
    }
    return (ConvertTo-WbJsonList $items)
}
