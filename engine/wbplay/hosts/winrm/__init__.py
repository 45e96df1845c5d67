"""A Windows PC reached over WinRM: the agent runs in one reused WinRS shell.

Why pywinrm's ``Protocol`` and not ``Session``: ``Session.run_ps`` opens and
deletes a shell (and re-authenticates) for every call, always uses codepage
437 and puts the script on cmd.exe's command line, which stops at 8191
characters.  Here, one shell per host object carries every agent run, whose
request goes over stdin.

* :mod:`~wbplay.hosts.winrm.host`: :class:`~wbplay.hosts.winrm.host.WinRMHost`
  (ops -> agent runs, and what a dropped connection means for a read or a write);
* :mod:`~wbplay.hosts.winrm.shell`: the connection and its shell (command, stdin, Receive loop, deadline);
* :mod:`~wbplay.hosts.winrm.connection`: a ``Protocol`` from a target (endpoint, auth, TLS options);
* :mod:`~wbplay.hosts.winrm.failures`: pywinrm's failures as wbplay errors.

No credential ever reaches an exception, a log line or a traceback.
"""
