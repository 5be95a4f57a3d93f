"""A running attempt's streamed text: rows of ``streamed`` (migration ``STREAMED_TEXT``), in
order, until the statement that ends the attempt folds them into its columns."""

from __future__ import annotations

# attempt id -> (thinking fragments, text fragments), in arrival order
Buffer = dict[str, tuple[list[str], list[str]]]

_INSERT = "INSERT INTO streamed (thinking, output, attempt_id) VALUES "
APPEND_TEXT = f"{_INSERT}(?, ?, ?)"  # one attempt's text


def _streamed(column: str) -> str:
    return (
        f"COALESCE((SELECT group_concat({column}, '') FROM (SELECT {column} FROM streamed"
        " WHERE streamed.attempt_id = attempts.id ORDER BY streamed.rowid)), '')"
    )


# An attempt's whole text so far, as an expression over a row of ``attempts``.
STREAMED_THINKING = f"thinking_text || {_streamed('thinking')}"
STREAMED_OUTPUT = f"output_text || {_streamed('output')}"


def append_all(taken: Buffer) -> tuple[str, list[str]]:
    """One INSERT appending every attempt's buffered text (atomic without a transaction)."""
    rows = ", ".join("(?, ?, ?)" for _ in taken)
    params = [
        x
        for attempt_id, (thinking, text) in taken.items()
        for x in ("".join(thinking), "".join(text), attempt_id)
    ]
    return _INSERT + rows, params
