# ------------------------------------------------------------------- paths ---
# .NET file APIs throughout: they take paths literally (no wildcards, unlike
# -Path), never reach another PowerShell provider (a "HKLM:\..." path cannot
# turn a file delete into a registry delete), and work on PS2, whose
# Rename-Item has no -LiteralPath.

function Assert-WbPath {
    # Absolute drive or UNC paths only: a relative path would resolve against
    # whatever the remote session's directory is, and \\.\ or \\?\ device paths
    # are not files.
    param([string]$Path)
    if ($Path -notmatch '^[A-Za-z]:\\' -and $Path -notmatch '^\\\\[^\\?.]') {
        throw (New-WbFailure 161 "not an absolute path: '$Path'")
    }
}

function Get-WbAttributes {
    # FileAttributes as an int, or $null when nothing is there.
    param([string]$Path)
    try {
        return [int][IO.File]::GetAttributes($Path)
    } catch {
        $code = (Get-WbErrorInfo $_.Exception).Code
        if ($code -eq 2 -or $code -eq 3) {
            return $null
        }
        throw $_.Exception
    }
}

function Get-WbPathInfo {
    param([string]$Path)
    Assert-WbPath $Path
    $attrs = Get-WbAttributes $Path
    if ($null -eq $attrs) {
        return '{"exists":false,"kind":null,"size":null,"reparse":false}'
    }
    $reparse = ConvertTo-WbJsonBool (($attrs -band 1024) -ne 0)
    if (($attrs -band 16) -ne 0) {
        return '{"exists":true,"kind":"directory","size":null,"reparse":' + $reparse + '}'
    }
    $size = (New-Object IO.FileInfo -ArgumentList $Path).Length
    return '{"exists":true,"kind":"file","size":' + (ConvertTo-WbJsonNumber $size) + ',"reparse":' + $reparse + '}'
}

function Get-WbPathChildren {
    param([string]$Path)
    Assert-WbPath $Path
    $attrs = Get-WbAttributes $Path
    if ($null -eq $attrs) {
        return 'null'
    }
    if (($attrs -band 16) -eq 0) {
        throw (New-WbFailure 267)
    }
    $names = New-Object System.Collections.ArrayList
    foreach ($entry in [IO.Directory]::GetFileSystemEntries($Path)) {
        [void]$names.Add([IO.Path]::GetFileName($entry))
    }
    $names.Sort([StringComparer]::Ordinal)
    $items = New-Object System.Collections.ArrayList
    foreach ($n in $names) {
        [void]$items.Add((ConvertTo-WbJsonString $n))
    }
    return (ConvertTo-WbJsonList $items)
}

function Get-WbParent {
    # The folder holding $Path; refuses drive and share roots.
    param([string]$Path)
    $parent = [IO.Path]::GetDirectoryName($Path.TrimEnd([char]92))
    if ($null -eq $parent -or $parent -eq '') {
        throw (New-WbFailure 87 "refusing to operate on a root: '$Path'")
    }
    return $parent
}

function Rename-WbPath {
    param([string]$Path, [string]$NewName)
    Assert-WbPath $Path
    if ($NewName -eq '' -or $NewName -eq '.' -or $NewName -eq '..' -or
        $NewName.IndexOfAny([char[]]@('\', '/', ':')) -ge 0 -or
        $NewName.IndexOfAny([IO.Path]::GetInvalidFileNameChars()) -ge 0) {
        throw (New-WbFailure 123 "new_name must be a bare file or folder name: '$NewName'")
    }
    $parent = Get-WbParent $Path
    $attrs = Get-WbAttributes $Path
    if ($null -eq $attrs) {
        throw (New-WbFailure 2)
    }
    $target = [IO.Path]::Combine($parent, $NewName)
    # Move on the same folder is a rename; an existing target fails with 183.
    if (($attrs -band 16) -ne 0) {
        [IO.Directory]::Move($Path, $target)
    } else {
        [IO.File]::Move($Path, $target)
    }
    return 'null'
}

function Remove-WbPath {
    # Not Remove-Item -Recurse: Windows PowerShell's recursion follows
    # junctions and directory symlinks and deletes the TARGET's contents
    # (PowerShell issue #621).  Walk the tree without entering reparse
    # points, then delete children before parents; a link is removed as a
    # link.  Read-only is cleared first, as -Force would.  Iterative, because
    # PS2 caps script recursion at 100 levels.
    # A folder is first renamed to a sibling tombstone: a file open inside
    # makes that rename fail before anything is deleted, so a locked file
    # never leaves a half-deleted tree (a half WindowsImageBackup) under the
    # name Windows Backup looks for (docs/agent-review.md likely bug 13).
    param([string]$Path)
    Assert-WbPath $Path
    $parent = Get-WbParent $Path
    $attrs = Get-WbAttributes $Path
    if ($null -eq $attrs) {
        throw (New-WbFailure 2)
    }
    if (($attrs -band 16) -ne 0) {
        $root = New-Object IO.DirectoryInfo -ArgumentList $Path
        if (($attrs -band 1024) -eq 0) {
            $tomb = [IO.Path]::Combine($parent, ($root.Name + '.wbplay-deleting-' + [Guid]::NewGuid().ToString('N').Substring(0, 8)))
            $root.MoveTo($tomb)
            $root = New-Object IO.DirectoryInfo -ArgumentList $tomb
        }
    } else {
        $root = New-Object IO.FileInfo -ArgumentList $Path
    }
    $order = New-Object System.Collections.ArrayList
    $pending = New-Object System.Collections.Stack
    $pending.Push($root)
    while ($pending.Count -gt 0) {
        $item = $pending.Pop()
        [void]$order.Add($item)
        if ($item -is [IO.DirectoryInfo] -and ([int]$item.Attributes -band 1024) -eq 0) {
            foreach ($child in $item.GetFileSystemInfos()) {
                $pending.Push($child)
            }
        }
    }
    for ($i = $order.Count - 1; $i -ge 0; $i--) {
        $item = $order[$i]
        $bits = [int]$item.Attributes
        if (($bits -band 1) -ne 0) {
            $item.Attributes = [IO.FileAttributes]($bits - 1)
        }
        $item.Delete()
    }
    return 'null'
}

function Get-WbExportJournal {
    # journal.read: the journals an exported remediate.ps1 wrote, listed, or one by run id.
    param([string]$Name)
    $root = [Environment]::GetFolderPath('CommonApplicationData')
    $dir = [IO.Path]::Combine([IO.Path]::Combine($root, 'wbplay'), 'runs')
    if ($Name -ceq '') {
        $items = New-Object System.Collections.ArrayList
        if ([IO.Directory]::Exists($dir)) {
            $files = New-Object System.Collections.ArrayList
            foreach ($f in [IO.Directory]::GetFiles($dir, '*.jsonl')) {
                [void]$files.Add([IO.Path]::GetFileName($f))
            }
            $files.Sort([StringComparer]::Ordinal)
            foreach ($f in $files) {
                $size = (New-Object IO.FileInfo -ArgumentList ([IO.Path]::Combine($dir, $f))).Length
                $stem = $f.Substring(0, $f.Length - 6)
                [void]$items.Add('{"name":' + (ConvertTo-WbJsonString $stem) + ',"size":' + (ConvertTo-WbJsonNumber $size) + '}')
            }
        }
        return (ConvertTo-WbJsonList $items)
    }
    if ($Name -cnotmatch '^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$' -or $Name.Contains('..')) {
        throw (New-WbFailure 123 "argument 'name' must be a run id (letters, digits, '.', '-', '_')")
    }
    $path = [IO.Path]::Combine($dir, $Name + '.jsonl')
    if (-not [IO.File]::Exists($path)) {
        return 'null'
    }
    if ((New-Object IO.FileInfo -ArgumentList $path).Length -gt 4194304) {
        throw (New-WbFailure 8 'the journal is larger than 4 MB')
    }
    $text = [IO.File]::ReadAllText($path, (New-Object System.Text.UTF8Encoding($false)))
    return '{"name":' + (ConvertTo-WbJsonString $Name) + ',"text":' + (ConvertTo-WbJsonString $text) + '}'
}
