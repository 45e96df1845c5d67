"""wbplay: declarative playbooks that fix Windows Backup."""

__version__ = "0.1.0"
