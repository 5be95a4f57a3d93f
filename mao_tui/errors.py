"""Errors the command line reports as one clear message with exit status 2."""


class UsageError(Exception):
    """Bad input from the user: what was wrong and what was expected."""
