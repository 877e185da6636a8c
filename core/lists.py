"""Lists typed as one string, shared by the front ends (CLI options, web query parameters)."""


def comma_list(value: str | None) -> list[str]:
    """"red, hot dog,,blue" -> ["red", "hot dog", "blue"]; None or "" -> []."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]
