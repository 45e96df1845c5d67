# ------------------------------------------------------------ native tools ---
# chkdsk, vssadmin, wbadmin... run as child processes with fixed switches and
# volume names the host reported, never with request text.  A Process rather
# than "& exe": the agent needs the raw bytes (sfc writes UTF-16LE), stderr
# without PS2 turning it into terminating errors, an exit code, and a stdin
# it can answer chkdsk's "(Y/N)" questions on, one at a time.

function Get-WbSystemExe {
    # The OS's own System32: a 32-bit PowerShell on 64-bit Windows sees
    # SysWOW64 there (whose sfc cannot repair); Sysnative is the real one.
    param([string]$Name)
    $dir = 'System32'
    if ([IntPtr]::Size -eq 4 -and [Environment]::GetEnvironmentVariable('PROCESSOR_ARCHITEW6432')) {
        $dir = 'Sysnative'
    }
    $windows = [Environment]::GetEnvironmentVariable('SystemRoot')
    $path = [IO.Path]::Combine([IO.Path]::Combine($windows, $dir), $Name + '.exe')
    if (-not [IO.File]::Exists($path)) {
        throw (New-WbFailure 2 "$Name.exe is not installed on this PC")
    }
    return $path
}

function Join-WbArguments {
    # The only way a command line is built.  Every token is a switch or a
    # volume name: no space, no quote, nothing cmd or the CRT parser would
    # read as anything but one argument.
    param([string[]]$Tokens)
    foreach ($token in $Tokens) {
        if ($token -cnotmatch '^[A-Za-z0-9:/\\?{}=._-]+\z') {
            throw (New-WbFailure 87 'refusing a command-line argument outside [A-Za-z0-9:/\?{}=._-]')
        }
    }
    return ($Tokens -join ' ')
}

function ConvertFrom-WbToolBytes {
    # sfc writes UTF-16LE into a pipe (docs/domain.md s.4), other tools the
    # console codepage; OEM text never holds a NUL byte, UTF-16 text does.
    param([byte[]]$Bytes, $Encoding, [switch]$Unicode)
    if ($Bytes.Length -eq 0) {
        return ''
    }
    if ($Unicode -and [Array]::IndexOf($Bytes, [byte]0) -ge 0) {
        $text = [Text.Encoding]::Unicode.GetString($Bytes)
        return $text.TrimStart([char]65279)
    }
    return $Encoding.GetString($Bytes)
}

function Read-WbPipeText {
    # The text that a pipe's bytes not yet decoded complete; the pipe's own
    # decoder keeps a character split between two reads.  A -Unicode tool's
    # encoding is decided as ConvertFrom-WbToolBytes decides it (a NUL byte
    # means UTF-16LE), after 64 bytes: sfc may open with a non-Latin letter,
    # whose UTF-16 bytes hold no NUL.  $Final decides with whatever came.
    param($Pipe, $Encoding, [switch]$Unicode, [switch]$Final)
    $bytes = $Pipe.Bytes
    if ($null -eq $Pipe.Decoder) {
        if ($Unicode -and $bytes.Length -lt 64 -and -not $Final) {
            return ''
        }
        $Pipe.Decoder = $Encoding.GetDecoder()
        if ($Unicode -and [Array]::IndexOf($bytes.ToArray(), [byte]0) -ge 0) {
            $Pipe.Decoder = [Text.Encoding]::Unicode.GetDecoder()
        }
    }
    $start = [int]$Pipe.Decoded
    $count = [int]$bytes.Length - $start
    $Pipe.Decoded = $start + $count
    $buffer = $bytes.GetBuffer()
    $chars = New-Object char[] ($Pipe.Decoder.GetCharCount($buffer, $start, $count))
    [void]$Pipe.Decoder.GetChars($buffer, $start, $count, $chars, 0)
    $sb = New-Object System.Text.StringBuilder
    return $sb.Append($chars).ToString()
}

function Write-WbLiveText {
    # Prints every line $Text completes on $Pipe (its unfinished line is kept
    # in $Pipe.Tail) as protocol.OUTPUT + ' ' + a JSON string, flushed at
    # once: the engine shows it while the tool still runs.  CR ends a line as
    # LF does (sfc redraws "Verification 12% complete." with CR); blank lines
    # and a repeat of the line printed last are skipped.  $Final also prints
    # the unfinished line.  A line that never ends (backspace redraws) is cut
    # at 4000 characters.  Progress is cosmetic: if stdout fails, streaming
    # stops and the tool runs on; a repair is never cut short for it.
    param($Pipe, $Seen, [string]$Text, [switch]$Final)
    $rest = $Pipe.Tail + $Text
    if ($Final -or $rest.Length -gt 4000) {
        $rest += "`n"
    }
    $ends = [char[]]@([char]13, [char]10)
    $at = $rest.IndexOfAny($ends)
    while ($at -ge 0) {
        $line = $rest.Substring(0, $at).TrimStart([char]65279).TrimEnd()
        $rest = $rest.Substring($at + 1)
        $at = $rest.IndexOfAny($ends)
        if ($line.Length -eq 0 -or $Seen.Off -or $line -ceq $Seen.Last) {
            continue
        }
        $Seen.Last = $line
        try {
            [Console]::Out.WriteLine('<<<WBPLAY-OUT>>> ' + (ConvertTo-WbJsonString $line))
            [Console]::Out.Flush()
        } catch {
            $Seen.Off = $true
        }
    }
    $Pipe.Tail = $rest
}

function Start-WbProcess {
    # $Proc.Start() with a stdin writer that sends no BOM.  .NET Framework
    # wraps the child's stdin in a StreamWriter over Console.InputEncoding
    # with AutoFlush on, which writes that encoding's preamble at once: under
    # WinRS's codepage 65001, EF BB BF before the first answer
    # (dotnet/msbuild#15038, docs/agent-review.md D2).  So the console input
    # encoding is the OEM one (UTF-8 without a BOM if the OEM codepage is
    # 65001) for the Start() call only.  A tool that will be answered is not
    # started at all if the BOM cannot be avoided.
    param($Proc, $Encoding, [bool]$Asks)
    $stdinEncoding = $Encoding
    if ($stdinEncoding.GetPreamble().Length -gt 0) {
        $stdinEncoding = New-Object System.Text.UTF8Encoding -ArgumentList $false
    }
    $saved = $null
    try {
        if ([Console]::InputEncoding.GetPreamble().Length -gt 0) {
            $saved = [Console]::InputEncoding
            [Console]::InputEncoding = $stdinEncoding
        }
    } catch {
        $saved = $null
    }
    try {
        $bom = $true
        try {
            $bom = [Console]::InputEncoding.GetPreamble().Length -gt 0
        } catch {
            $bom = $true
        }
        if ($bom -and $Asks) {
            throw (New-WbFailure 50 'cannot give the tool a stdin without a UTF-8 BOM, so it would misread its answers')
        }
        [void]$Proc.Start()
    } finally {
        if ($null -ne $saved) {
            try {
                [Console]::InputEncoding = $saved
            } catch {
            }
        }
    }
}

function Invoke-WbNative {
    # Runs <System32>\<Name>.exe <Tokens> and returns @{ Line; ExitCode;
    # Output; Prompts; Yes }.  No $Policy closes stdin at once: a read never
    # answers a question.  Otherwise each prompt ending in "(Y/N)" (letters
    # as the tool localizes them, "(J/N)"...) is answered, once it is on
    # screen, by what Get-WbPromptReply makes of its text under $Policy:
    # never by its position; a prompt the policy refuses stops the tool and
    # fails the op.  $IdleSeconds > 0 stops a tool that prints nothing for
    # that long (a question it did not flush): better than guessing an answer.
    # During a slow op ($WbState.Live, set by Invoke-WbOp from $WbSlowOps)
    # every line from either pipe is also printed as it arrives
    # (Write-WbLiveText); the captured Output stays the same.
    param([string]$Name, [string[]]$Tokens, [switch]$Unicode, [string]$Policy, [int]$IdleSeconds)
    $exe = Get-WbSystemExe $Name
    $arguments = Join-WbArguments $Tokens
    $line = $Name + ' ' + $arguments
    $asks = $null -ne $Policy -and $Policy -ne ''
    # CreateNoWindow gives the tool a console of its own, at the PC's OEM
    # codepage whatever the WinRS shell's is: decode that, always
    # (docs/agent-review.md likely bug 4; the shell's OutputEncoding is
    # neither what the tool prints in nor always settable under WinRM).
    $encoding = [Text.Encoding]::GetEncoding((Get-WbOemCodePage))
    $proc = New-Object System.Diagnostics.Process
    try {
        $psi = $proc.StartInfo
        $psi.FileName = $exe
        $psi.Arguments = $arguments
        $psi.UseShellExecute = $false
        $psi.CreateNoWindow = $true
        $psi.WorkingDirectory = [Environment]::SystemDirectory
        $psi.RedirectStandardInput = $true
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        Start-WbProcess $proc $encoding $asks
        $stdin = $proc.StandardInput.BaseStream
        if (-not $asks) {
            $stdin.Close()
        }
        # Both pipes are read with BeginRead + WaitAny (no threads, no PS2
        # event handlers), so neither can fill up and block the tool.
        $out = @{ Stream = $proc.StandardOutput.BaseStream; Bytes = (New-Object IO.MemoryStream)
            Buffer = (New-Object byte[] 8192); Pending = $null; Done = $false
            Decoder = $null; Decoded = 0; Tail = '' }
        $err = @{ Stream = $proc.StandardError.BaseStream; Bytes = (New-Object IO.MemoryStream)
            Buffer = (New-Object byte[] 8192); Pending = $null; Done = $false
            Decoder = $null; Decoded = 0; Tail = '' }
        $live = [bool]$WbState.Live
        $seen = @{ Last = $null; Off = $false }
        $screen = New-Object System.Text.StringBuilder
        $checked = 0
        $dialog = @{ Prompts = 0; Yes = 0; Kinds = '' }
        $quietSince = [DateTime]::UtcNow
        while (-not ($out.Done -and $err.Done)) {
            $waits = New-Object System.Collections.ArrayList
            $owners = New-Object System.Collections.ArrayList
            foreach ($pipe in @($out, $err)) {
                if (-not $pipe.Done) {
                    if ($null -eq $pipe.Pending) {
                        $pipe.Pending = $pipe.Stream.BeginRead($pipe.Buffer, 0, $pipe.Buffer.Length, $null, $null)
                    }
                    [void]$waits.Add($pipe.Pending.AsyncWaitHandle)
                    [void]$owners.Add($pipe)
                }
            }
            $index = [Threading.WaitHandle]::WaitAny([Threading.WaitHandle[]]$waits.ToArray(), 1000, $false)
            if ($index -eq [Threading.WaitHandle]::WaitTimeout) {
                if ($IdleSeconds -gt 0 -and ([DateTime]::UtcNow - $quietSince).TotalSeconds -gt $IdleSeconds) {
                    $proc.Kill()
                    throw (New-WbFailure 1460 "$line printed nothing for $IdleSeconds seconds and was stopped")
                }
                continue
            }
            $pipe = $owners[$index]
            $count = 0
            try {
                $count = $pipe.Stream.EndRead($pipe.Pending)
            } catch {
                $count = 0
            }
            $pipe.Pending = $null
            if ($count -le 0) {
                $pipe.Done = $true
                if ($live) {
                    Write-WbLiveText $pipe $seen (Read-WbPipeText $pipe $encoding -Unicode:$Unicode -Final) -Final
                }
                continue
            }
            $quietSince = [DateTime]::UtcNow
            $pipe.Bytes.Write($pipe.Buffer, 0, $count)
            $asking = $asks -and [object]::ReferenceEquals($pipe, $out)
            if (-not ($live -or $asking)) {
                continue
            }
            $fresh = Read-WbPipeText $pipe $encoding -Unicode:$Unicode
            if ($live) {
                Write-WbLiveText $pipe $seen $fresh
            }
            if (-not $asking) {
                continue
            }
            [void]$screen.Append($fresh)
            $unseen = $screen.ToString($checked, $screen.Length - $checked)
            $ask = [regex]::Match($unseen, '\(\s*([A-Za-z])\s*/\s*([A-Za-z])\s*\)\s*\??\s*\z')
            if ($ask.Success) {
                # A refused prompt throws: the finally below kills the tool.
                $letter = $ask.Groups[2].Value
                if (Get-WbPromptReply $Policy $unseen $dialog) {
                    $letter = $ask.Groups[1].Value
                }
                $reply = [Text.Encoding]::ASCII.GetBytes($letter + "`r`n")
                $stdin.Write($reply, 0, $reply.Length)
                $stdin.Flush()
                $checked = $screen.Length
            }
        }
        $proc.WaitForExit()
        $text = (ConvertFrom-WbToolBytes $out.Bytes.ToArray() $encoding -Unicode:$Unicode) +
            (ConvertFrom-WbToolBytes $err.Bytes.ToArray() $encoding -Unicode:$Unicode)
        # chkdsk on Windows 7 prints a progress line per percent: keep the end,
        # where the verdict is, if a run ever prints megabytes.
        if ($text.Length -gt 1000000) {
            $text = $text.Substring($text.Length - 1000000)
        }
        return @{ Line = $line; ExitCode = $proc.ExitCode; Output = $text; Prompts = $dialog.Prompts
            Yes = $dialog.Yes; Kinds = $dialog.Kinds }
    } finally {
        # Process.Close() leaves the pipes alone; nothing here may hide the
        # error that brought us here (a start failure, an idle stop).
        try {
            if (-not $proc.HasExited) {
                $proc.Kill()
            }
        } catch {
        }
        try {
            $proc.StandardInput.BaseStream.Close()
        } catch {
        }
        $proc.Close()
    }
}

function Get-WbCommandRead {
    # A command read op's value: {command_line, exit_code, output} (ops.py).
    param([string]$Name, [string[]]$Tokens, [switch]$Unicode)
    $run = Invoke-WbNative -Name $Name -Tokens $Tokens -Unicode:$Unicode
    return (ConvertTo-WbJsonObject @(
            'command_line', (ConvertTo-WbJsonString $run.Line),
            'exit_code', (ConvertTo-WbJsonNumber $run.ExitCode),
            'output', (ConvertTo-WbJsonString $run.Output)))
}

function Get-WbLastLine {
    # The last non-blank line a tool printed, for an error message.
    param([string]$Text)
    $lines = @($Text.Split([char[]]@([char]13, [char]10), [StringSplitOptions]::RemoveEmptyEntries))
    for ($i = $lines.Length - 1; $i -ge 0; $i--) {
        if ($lines[$i].Trim() -ne '') {
            return $lines[$i].Trim()
        }
    }
    return '(no output)'
}

# ------------------------------------------------------------------ native ---
# Raw IOCTLs for what WMI does not tell on Windows 7 (SSD or HDD, bus, sector
# sizes, which disk and partition a volume is on) and a directory handle for
# chkdsk.schedule.  A constant C# text, compiled by Add-Type only when an op
# needs it; nothing from the request reaches it but a volume or disk path the
# host reported.

$WbNativeSource = @'
[System.Runtime.InteropServices.DllImport("kernel32.dll", SetLastError = true, CharSet = System.Runtime.InteropServices.CharSet.Unicode)]
private static extern System.IntPtr CreateFileW(string name, uint access, uint share, System.IntPtr security, uint disposition, uint flags, System.IntPtr template);
[System.Runtime.InteropServices.DllImport("kernel32.dll", SetLastError = true)]
private static extern bool DeviceIoControl(System.IntPtr device, uint code, byte[] input, int inputSize, byte[] output, int outputSize, out int returned, System.IntPtr overlapped);
[System.Runtime.InteropServices.DllImport("kernel32.dll")]
public static extern bool CloseHandle(System.IntPtr handle);

// No access rights: enough for FILE_ANY_ACCESS queries and to keep a folder
// open (which makes a volume lock fail); share everything.
public static System.IntPtr Open(string path, bool directory) {
    System.IntPtr h = CreateFileW(path, 0, 7, System.IntPtr.Zero, 3, directory ? 0x02000000u : 0u, System.IntPtr.Zero);
    if (h == new System.IntPtr(-1)) {
        throw new System.ComponentModel.Win32Exception(System.Runtime.InteropServices.Marshal.GetLastWin32Error());
    }
    return h;
}

private static byte[] Ioctl(string path, uint code, byte[] input, int size) {
    System.IntPtr h = Open(path, false);
    try {
        byte[] output = new byte[size];
        int got;
        if (!DeviceIoControl(h, code, input, input == null ? 0 : input.Length, output, size, out got, System.IntPtr.Zero)) {
            return null;
        }
        byte[] result = new byte[got];
        System.Array.Copy(output, result, got);
        return result;
    } finally {
        CloseHandle(h);
    }
}

// IOCTL_STORAGE_QUERY_PROPERTY, PropertyStandardQuery.
private static byte[] Property(string path, int id) {
    byte[] query = new byte[12];
    System.BitConverter.GetBytes(id).CopyTo(query, 0);
    return Ioctl(path, 0x2D1400, query, 1024);
}

// IOCTL_STORAGE_GET_DEVICE_NUMBER: {disk number, partition number} of a volume.
public static int[] DeviceNumber(string path) {
    byte[] b = Ioctl(path, 0x2D1080, null, 12);
    if (b == null || b.Length < 12) { return null; }
    return new int[] { System.BitConverter.ToInt32(b, 4), System.BitConverter.ToInt32(b, 8) };
}

// STORAGE_DEVICE_DESCRIPTOR.BusType (StorageDeviceProperty), -1 if unknown.
public static int BusType(string path) {
    byte[] b = Property(path, 0);
    return (b == null || b.Length < 32) ? -1 : System.BitConverter.ToInt32(b, 28);
}

// STORAGE_ACCESS_ALIGNMENT_DESCRIPTOR: {logical, physical} bytes per sector.
public static int[] SectorSizes(string path) {
    byte[] b = Property(path, 6);
    if (b == null || b.Length < 24) { return null; }
    return new int[] { System.BitConverter.ToInt32(b, 16), System.BitConverter.ToInt32(b, 20) };
}

// DEVICE_SEEK_PENALTY_DESCRIPTOR.IncursSeekPenalty (Windows 7+): 1, 0, or -1 unknown.
public static int SeekPenalty(string path) {
    byte[] b = Property(path, 7);
    return (b == null || b.Length < 9) ? -1 : b[8];
}

// IOCTL_DISK_GET_DRIVE_LAYOUT_EX: PARTITION_STYLE 0 MBR, 1 GPT, 2 RAW; -1 unknown.
public static int PartitionStyle(string path) {
    byte[] b = Ioctl(path, 0x70050, null, 65536);
    return (b == null || b.Length < 4) ? -1 : System.BitConverter.ToInt32(b, 0);
}
'@

function Import-WbNative {
    # $true once [WbPlay.Native] exists.  A PC that cannot compile it (no
    # csc, locked-down policy) still answers: callers fall back to WMI or
    # report "unknown".
    if ($null -eq $WbState.Native) {
        try {
            Add-Type -MemberDefinition $WbNativeSource -Name 'Native' -Namespace 'WbPlay'
            $WbState.Native = $true
        } catch {
            $WbState.Native = $false
        }
    }
    return [bool]$WbState.Native
}
