"""One error type for "the user's request cannot be done": the CLI prints it and exits 2."""


class UserError(Exception):
    """Bad input from the person at the keyboard: str() is the one-line message."""
