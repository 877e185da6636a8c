"""Shared plumbing: typed errors, the artifact home, atomic writes, manifests."""
