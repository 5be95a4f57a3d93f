"""Short, fixed-width renderings of numbers for tables and status lines (pure functions)."""

from __future__ import annotations


def count(n: int) -> str:
    """Token counts: 812, 12.3k, 1.20M."""
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}k"
    return f"{n / 1_000_000:.2f}M"


def duration(seconds: float | None) -> str:
    """Elapsed time: 4.2s, 1m 05s, 1h 02m; an em dash when unknown."""
    if seconds is None:
        return "—"
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def clock(seconds: float) -> str:
    """Offset from the session start for log lines: +00:42, +1:02:03."""
    seconds = max(int(seconds), 0)
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"+{minutes:02d}:{secs:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"+{hours}:{minutes:02d}:{secs:02d}"


def cost(usd: float, complete: bool = True) -> str:
    """Dollars, with four decimals under a dollar; a trailing '+?' when some price is unknown."""
    text = f"${usd:.4f}" if usd < 1 else f"${usd:,.2f}"
    return text if complete else f"{text}+?"


def rate(tokens_per_s: float | None, estimated: bool = False) -> str:
    """Throughput in tokens per second; '~' marks a live estimate."""
    if tokens_per_s is None:
        return "—"
    return f"{'~' if estimated else ''}{tokens_per_s:.0f}"
