"""Errors shown to the user as one clear message (on the command line: exit status 2)."""


class UsageError(Exception):
    """Bad input from the user: what was wrong and what was expected."""


class ControlError(Exception):
    """A request to steer a session that cannot be done now (e.g. rerun with no inputs yet)."""


class StoreUnwritableError(Exception):
    """The session database cannot be written (disk full, I/O error, read-only file): the
    session stops, and on the command line mao says so in one line and exits 1."""
