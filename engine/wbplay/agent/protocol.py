"""The wire protocol between the engine and the PowerShell agent (``agent.ps1``).

One round trip::

    powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand <BOOTSTRAP>
    stdin : the agent's text, the SEPARATOR line, the request      (ASCII, LF line ends)
            (over WinRM the agent is in the shell's environment instead, sent once per shell)
    stdout: <<<WBPLAY-BEGIN>>> / one JSON line / <<<WBPLAY-END>>>  (ASCII, CRLF line ends)

The command line stays tiny (cmd.exe caps it at 8191 characters); the agent
and the request travel on stdin.  Everything the engine sends or receives is
ASCII, so neither the WinRS codepage (437, 932, 65001...) nor a stray BOM can
corrupt it.  Playbook values travel as base64 or digits, so they can never
become PowerShell code.

This module is the protocol's one namespace: the hosts import from it, and
the lab takes it whole as a module (so a test can hand the lab a fake).  The
parts live in:

* :mod:`wbplay.agent.bootstrap`: the command line and the stdin it reads;
* :mod:`wbplay.agent.script`: the agent script, assembled from ``AGENT_PARTS``;
* :mod:`wbplay.agent.request`: requests and their typed values;
* :mod:`wbplay.agent.response`: the response frame and live output lines;
* :mod:`wbplay.agent.console`: powershell.exe's bytes as text, CLIXML stderr.
"""

from __future__ import annotations

from wbplay.agent.bootstrap import (
    BOOTSTRAP,
    POWERSHELL_ARGS,
    SEPARATOR,
    bootstrap_command_line,
    build_stdin,
    packed_agent,
    split_stdin,
    unpack_agent,
)
from wbplay.agent.console import clean_stderr
from wbplay.agent.request import MODES, PROTOCOL_VERSION, REQUEST_MAGIC, decode_request, encode_request
from wbplay.agent.response import (
    BEGIN,
    END,
    OUTPUT,
    OutputLines,
    decode_response,
    encode_fatal,
    encode_output_line,
    encode_response,
)
from wbplay.agent.script import AGENT_PARTS, agent_script, agent_source, drop_comment_lines

__all__ = [
    "AGENT_PARTS",
    "BEGIN",
    "BOOTSTRAP",
    "END",
    "MODES",
    "OUTPUT",
    "POWERSHELL_ARGS",
    "PROTOCOL_VERSION",
    "REQUEST_MAGIC",
    "SEPARATOR",
    "OutputLines",
    "agent_script",
    "agent_source",
    "bootstrap_command_line",
    "build_stdin",
    "clean_stderr",
    "decode_request",
    "decode_response",
    "drop_comment_lines",
    "encode_fatal",
    "encode_output_line",
    "encode_request",
    "encode_response",
    "packed_agent",
    "split_stdin",
    "unpack_agent",
]
