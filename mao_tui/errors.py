"""Errors shown to the user as one clear message (on the command line: exit status 2)."""


class UsageError(Exception):
    """Bad input from the user: what was wrong and what was expected."""


class ControlError(Exception):
    """A request to steer a session that cannot be done now (e.g. rerun with no inputs yet)."""
