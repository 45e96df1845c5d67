"""What a sysadmin concludes from several reads at once, computed in the engine.

Probes that need more than one read (is this destination a critical volume?
which disk do these I/O errors belong to?) join the typed results of plain
read ops here, so the agent stays a dumb reader and every host (sim, lab,
real PC) is judged by the same, tested code.  Each join takes the op values
in the order its probe declares them, plus the probe's arguments.

One module per area: :mod:`.volumes` (selectors, critical volumes, WinRE),
:mod:`.backup` (system image targets and sources, backup sets, backup errors),
:mod:`.shadow` (shadow copy storage), :mod:`.chkdsk` (repair history and disk
errors), :mod:`.desktop` (user folders, printers), :mod:`.session` (the reboot guard).
"""
