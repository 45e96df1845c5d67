# -------------------------------------------------------------- dispatcher ---

function Set-WbServiceWait {
    # An op's wait_s (1..3600 seconds) for its service starts and stops.
    param($OpArgs)
    $wait = Get-WbArg $OpArgs 'wait_s' 'integer' -Optional
    if ($null -ne $wait) {
        if ($wait -lt 1 -or $wait -gt 3600) {
            throw (New-WbFailure 87 "argument 'wait_s' must be 1 to 3600 seconds")
        }
        $WbState.ServiceWait = [int]$wait
    }
}

function Invoke-WbOp {
    # One op -> one result, as JSON.  Never throws: a failure is ok:false with
    # a Win32 code, and the next op still runs.
    param($Op, [string]$Mode)
    $name = [string]$Op.Name
    try {
        if ($WbWriteOps.ContainsKey($name) -and $Mode -cne 'write') {
            throw (New-WbFailure 5 "refused: $name changes the host and this request is read-only")
        }
        # Set here, in one place, so that no other op can print before the frame.
        $WbState.Live = $WbSlowOps.ContainsKey($name)
        if ($WbState.Live -and $WbWriteOps.ContainsKey($name)) {
            Write-WbQuotaWarning
        }
        $a = $Op.Args
        $value = $null
        switch -casesensitive ($name) {
            'os.info' {
                $value = Get-WbOsInfo
            }
            'service.get' {
                $value = Get-WbService (Get-WbArg $a 'name' 'string')
            }
            'service.list' {
                $value = Get-WbServiceList
            }
            'service.policy' {
                $value = Get-WbServicePolicy
            }
            'registry.get' {
                $value = Get-WbRegistryValue (Get-WbArg $a 'key' 'string') (Get-WbArg $a 'name' 'string')
            }
            'registry.list' {
                $value = Get-WbRegistryKey (Get-WbArg $a 'key' 'string')
            }
            'path.get' {
                $value = Get-WbPathInfo (Get-WbArg $a 'path' 'string')
            }
            'path.list' {
                $value = Get-WbPathChildren (Get-WbArg $a 'path' 'string')
            }
            'journal.read' {
                $value = Get-WbExportJournal ([string](Get-WbArg $a 'name' 'string' -Optional))
            }
            'events.query' {
                $value = Get-WbEvents $a
            }
            'service.set_start_mode' {
                $value = Set-WbServiceStartMode (Get-WbArg $a 'name' 'string') (Get-WbArg $a 'start_mode' 'string')
            }
            'service.start' {
                Set-WbServiceWait $a
                $value = Start-WbService (Get-WbArg $a 'name' 'string')
            }
            'service.stop' {
                Set-WbServiceWait $a
                $value = Stop-WbService (Get-WbArg $a 'name' 'string')
            }
            'registry.set' {
                if (-not $a.ContainsKey('value') -or $null -eq $a['value']) {
                    throw (New-WbFailure 87 "missing argument 'value'")
                }
                $value = Set-WbRegistryValue (Get-WbArg $a 'key' 'string') (Get-WbArg $a 'name' 'string') (Get-WbArg $a 'type' 'string') $a['value']
            }
            'registry.delete' {
                $value = Remove-WbRegistryValue (Get-WbArg $a 'key' 'string') (Get-WbArg $a 'name' 'string')
            }
            'path.rename' {
                $value = Rename-WbPath (Get-WbArg $a 'path' 'string') (Get-WbArg $a 'new_name' 'string')
            }
            'path.delete' {
                $value = Remove-WbPath (Get-WbArg $a 'path' 'string')
            }
            'disk.list' {
                $value = Get-WbDiskList
            }
            'volume.list' {
                $value = Get-WbVolumeList
            }
            'shadowstorage.list' {
                $value = Get-WbShadowStorageList $a
            }
            'backup.catalog' {
                $value = Get-WbBackupCatalog (Get-WbArg $a 'target' 'string')
            }
            'session.info' {
                $value = Get-WbSessionInfo
            }
            'session.interactive' {
                $value = Get-WbInteractiveSessions
            }
            'user.libraries' {
                $value = Get-WbUserLibraries
            }
            'agent.environment' {
                $value = Get-WbAgentEnvironment
            }
            'user.international' {
                $value = Get-WbUserInternational
            }
            'user.shell_folders' {
                $value = Get-WbShellFolders
            }
            'printer.list' {
                $value = Get-WbPrinters
            }
            'printer.drivers' {
                $value = Get-WbPrinterDrivers
            }
            'chkdsk.scan' {
                $value = Get-WbVolumeCommand $name (Get-WbArg $a 'volume' 'string')
            }
            'chkntfs.query' {
                $value = Get-WbVolumeCommand $name (Get-WbArg $a 'volume' 'string')
            }
            'fsutil.dirty_query' {
                $value = Get-WbVolumeCommand $name (Get-WbArg $a 'volume' 'string')
            }
            'fsutil.ntfsinfo' {
                $value = Get-WbVolumeCommand $name (Get-WbArg $a 'volume' 'string')
            }
            'vssadmin.list_writers' {
                $value = Get-WbCommandRead 'vssadmin' @('list', 'writers')
            }
            'vssadmin.list_shadowstorage' {
                $value = Get-WbCommandRead 'vssadmin' @('list', 'shadowstorage')
            }
            'wbadmin.get_disks' {
                $value = Get-WbCommandRead 'wbadmin' @('get', 'disks')
            }
            'vssadmin.list_providers' {
                $value = Get-WbCommandRead 'vssadmin' @('list', 'providers')
            }
            'wbadmin.get_versions' {
                $value = Get-WbBackupVersions (Get-WbArg $a 'target' 'string' -Optional)
            }
            'reagentc.info' {
                $value = Get-WbCommandRead 'reagentc' @('/info')
            }
            'sfc.verifyonly' {
                $value = Get-WbSfcVerify
            }
            'dism.scanhealth' {
                $value = Get-WbCommandRead 'dism' @('/Online', '/Cleanup-Image', '/ScanHealth')
            }
            'cbs.sr_lines' {
                $value = Get-WbCbsLines
            }
            'chkdsk.schedule' {
                $value = Register-WbChkdsk (Get-WbArg $a 'volume' 'string') (Get-WbArg $a 'mode' 'string')
            }
            'chkdsk.run' {
                $value = Invoke-WbChkdskNow (Get-WbArg $a 'volume' 'string') (Get-WbArg $a 'mode' 'string')
            }
            'sfc.scannow' {
                $value = Invoke-WbSfcRepair
            }
            'dism.restorehealth' {
                $value = Invoke-WbDismRepair
            }
            'shadowstorage.add' {
                $value = Set-WbShadowStorage $a 'add'
            }
            'shadowstorage.resize' {
                $value = Set-WbShadowStorage $a 'resize'
            }
            'shadowstorage.delete' {
                $value = Set-WbShadowStorage $a 'delete'
            }
            'winre.disable' {
                $value = Set-WbWinre '/disable'
            }
            'winre.enable' {
                $value = Set-WbWinre '/enable'
            }
            'service.restart' {
                Set-WbServiceWait $a
                $value = Restart-WbService (Get-WbArg $a 'name' 'string')
            }
            'host.reboot' {
                $value = Restart-WbHost (Get-WbArg $a 'reason' 'string') (Get-WbArg $a 'notice_minutes' 'integer' -Optional)
            }
            'host.lock' {
                $value = Invoke-WbHostLock (Get-WbArg $a 'action' 'string') (Get-WbArg $a 'run' 'string') (Get-WbArg $a 'controller' 'string') (Get-WbArg $a 'stale_after_s' 'integer') (Get-WbArg $a 'steal' 'string' -Optional)
            }
            default {
                throw (New-WbFailure 1 "unknown op '$name'")
            }
        }
        if ($value -isnot [string]) {
            # A handler leaked pipeline output: report it, never emit bad JSON.
            throw (New-WbFailure 1 "internal error: $name produced no JSON")
        }
        return '{"ok":true,"value":' + $value + '}'
    } catch {
        $info = Get-WbErrorInfo $_.Exception
        return '{"ok":false,"error":{"code":' + (ConvertTo-WbJsonNumber $info.Code) + ',"message":' +
            (ConvertTo-WbJsonString $info.Message) + '}}'
    } finally {
        $WbState.Live = $false
        if ($WbWriteOps.ContainsKey($name)) {
            $WbState.Services = $null
            $WbState.Volumes = $null
        }
    }
}

# -------------------------------------------------------------------- main ---

$wbJson = $null
try {
    $wbRequest = Read-WbRequest $Request
    $wbResults = New-Object System.Collections.ArrayList
    foreach ($wbOp in $wbRequest.Ops) {
        $wbOne = Invoke-WbOp $wbOp $wbRequest.Mode
        if ($wbOne -isnot [string]) {
            $wbOne = '{"ok":false,"error":{"code":1,"message":"internal error: stray output"}}'
        }
        [void]$wbResults.Add($wbOne)
    }
    $wbJson = '{"v":1,"results":' + (ConvertTo-WbJsonList $wbResults.ToArray()) + '}'
} catch {
    $wbJson = '{"v":1,"fatal":{"message":' + (ConvertTo-WbJsonString ('wbplay agent: ' + [string]$_.Exception.Message)) +
        '},"results":[]}'
}
Write-WbFrame $wbJson
