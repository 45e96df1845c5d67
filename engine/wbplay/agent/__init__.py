"""The PowerShell agent (agent.ps1) and its wire protocol (protocol.py)."""
