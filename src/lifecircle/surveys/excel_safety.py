"""Formula (CSV) injection: neutralise text before it goes into a spreadsheet we write.

Why: a cell typed by a resident or a clerk (a demand list, a task note) is stored as text
and later written back into report.xlsx, templates and CSVs that other people open in
Excel or WPS. A text starting with ``=`` ``+`` ``-`` ``@`` (also after leading spaces),
or with a tab or CR, is read by a spreadsheet as a formula (``=HYPERLINK(…)``,
``=cmd|' /C calc'!A0``). Following the OWASP CSV-injection guidance we prefix such text
with a single quote ``'``.

Chosen over openpyxl's explicit string cell (``data_type='s'``) because the quote
survives every later step — copy/paste, "save as CSV", our own lightweight writer — while
a typed cell is only safe inside that one .xlsx. The cost is a visible ``'`` in front of
such text; ``restore`` takes it off again when we read our own files back, so a round trip
(write → parse) gives the original text.
"""
from __future__ import annotations

from typing import Any

#: characters that make a spreadsheet read the text as a formula (OWASP)
TRIGGERS = ("=", "+", "-", "@")
#: control characters that do the same at the very start (OWASP)
CONTROL_TRIGGERS = ("\t", "\r")
QUOTE = "'"


def is_dangerous(text: str) -> bool:
    """True if a spreadsheet could read ``text`` as a formula."""
    return text.startswith(CONTROL_TRIGGERS) or text.lstrip(" \t\r\n\u3000").startswith(TRIGGERS)


def neutralise(value: Any) -> Any:
    """``value`` with a leading ``'`` if it is text a spreadsheet would read as a formula.

    Non-text values (numbers, dates, None, booleans) are returned unchanged; so is text
    that is already neutralised (idempotent: neutralise(neutralise(x)) == neutralise(x)).
    """
    if isinstance(value, str) and is_dangerous(value):
        return QUOTE + value
    return value


def restore(value: Any) -> Any:
    """Undo ``neutralise`` on text read back from a file we wrote ("'=x" → "=x").

    Only a quote followed by a trigger is removed, so a typed ``'abc`` stays as it is.
    Restored text is data: it is never evaluated and is neutralised again on every write.
    """
    if isinstance(value, str) and value.startswith(QUOTE) and is_dangerous(value[1:]):
        return value[1:]
    return value


def neutralise_worksheet(ws) -> int:
    """Neutralise every text cell of an openpyxl worksheet in place; returns how many.

    A cell openpyxl already holds as a formula (``data_type == 'f'``) is turned into
    neutralised text too: the writers here never emit formulas.
    """
    changed = 0
    for row in ws.iter_rows():
        for cell in row:
            value = cell.value
            if cell.data_type == "f" and isinstance(value, str):
                cell.value = QUOTE + value
                changed += 1
            elif isinstance(value, str) and is_dangerous(value):
                cell.value = QUOTE + value
                changed += 1
    return changed
