"""The PowerShell agent (agent.ps1 and its op-family parts, one script) and its wire protocol, protocol.py."""
