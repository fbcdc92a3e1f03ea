"""One error type for "the user's request cannot be done": the CLI prints it and exits 2."""


class UserError(Exception):
    """Bad input from the person at the keyboard: str() is the one-line message."""


SHOWN_MAX = 60  # characters of a value quoted in a message, at most


def shown(value, limit=SHOWN_MAX):
    """value quoted in a one-line message (repr), cut to `limit` characters with '...': a
    hostile file's 1 MB key or a 300-digit number must not fill the screen. The host tools'
    one capper (the firmware keeps its own: core/config.py _show)."""
    if isinstance(value, str) and len(value) > limit:
        value = value[:limit]  # no repr of a huge text to show its start
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
