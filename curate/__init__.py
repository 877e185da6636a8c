"""Curating an index: filters, near-duplicates, zero-shot label fields, walks and maps."""
