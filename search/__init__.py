"""Search side: tagging, text and image search, nearest words, curation tools."""
