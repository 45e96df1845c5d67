"""Export a playbook to Intune Remediations and Configuration Manager (issue 9)."""
