"""Nearest neighbours among the items a `--filter` keeps: index.selection.nearest, under its old name."""
from devise.index.selection import nearest

__all__ = ["nearest"]
