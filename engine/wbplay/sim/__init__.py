"""The simulated Windows PC: a host state in YAML and the way Windows answers ops on it.

Bottom up (each module imports only modules listed before it):

- ``model`` (the state and Windows' lookup rules), ``state`` (loading, saving, built-ins),
  ``clock`` (time and event-log writes), ``storage`` (facts derived from disks, volumes,
  shadow storage, writers, WinRE);
- ``text/``: what the console tools print, per tool, in the PC's language;
- ``reply`` (the handler signature and answer shapes), then one module per op family, each
  with a ``HANDLERS`` table: ``sysinfo``, ``services``, ``registry``, ``files``, ``eventlog``,
  ``disks`` (chkdsk, chkntfs, fsutil), ``vss``, ``catalog`` (backup sets, wbadmin), ``winre``,
  ``sfc``, ``boot`` (``host.reboot``);
- ``backup`` (would a backup work? derived from the state) with ``backup_events``;
- ``executor``: joins the tables and answers an :class:`~wbplay.vocab.ops.Op`.
  Nothing in this package imports it.
"""
