"""Cells of the CSV files the hub writes and reads, safe to open in a spreadsheet.

A cell that starts with =, +, -, @, a tab or a carriage return is a formula to Excel, LibreOffice
and Google Sheets, so a customer named `=HYPERLINK(...)` would run in the admin's spreadsheet.
As OWASP's CSV injection guidance says, such a cell is written with a single quote in front,
which spreadsheets show as text. Reading undoes exactly that prefix, so a file exported and
imported again gives back the same values. A value that already starts with a quote followed
by one of those characters (or by another quote) gets a quote too, so the two never mix up.
"""

FORMULA_STARTS = frozenset("=+-@\t\r")
QUOTE = "'"


def _needs_quote(value: str) -> bool:
    return value[:1] in FORMULA_STARTS or (
        value[:1] == QUOTE and (value[1:2] in FORMULA_STARTS or value[1:2] == QUOTE)
    )


def protect(value: str) -> str:
    """The cell to write for `value`: never read as a formula."""
    return QUOTE + value if _needs_quote(value) else value


def unprotect(cell: str) -> str:
    """The value a cell written by protect() stands for (other cells are left as they are)."""
    return cell[1:] if cell[:1] == QUOTE and _needs_quote(cell[1:]) else cell
