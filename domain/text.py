"""What casework accepts as text: ids and people's handles, report texts and reasons, capped and
free of control (and, in ids, bidirectional) characters. The rules apply where input arrives
(the client's `build`, Update validators: the `domain.errors.INTAKE` context), not when a history
is decoded, so a case accepted under older rules still replays."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo

from domain.errors import INTAKE

# Length caps (characters), documented in the README. Text from the public is capped so one
# case's state stays far below Temporal's payload limits.
MAX_ID = 200


MAX_REPORT_TEXT = 5_000


MAX_REASON = 5_000

# A photo's hash as casework relates and fetches it: hex, 8 to 128 digits (anything else a
# marketplace reports is shown as text, never looked up or stored as a photo).
IMAGE_HASH = re.compile(r"[0-9a-f]{8,128}")


_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def unsafe_chars(text: str) -> list[str]:
    """Control, format-control and bidirectional-override characters in `text`."""
    return [ch for ch in text if ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cf")]


def _at_intake(check: Any) -> AfterValidator:
    """A rule for what casework accepts, applied where input arrives (the client's `build`,
    Update validators: `domain.errors.INTAKE` context) and not when a history is decoded, so a
    case accepted under older rules still replays."""

    def validate(v: Any, info: ValidationInfo) -> Any:
        return check(v) if v is not None and info.context == INTAKE else v

    return AfterValidator(validate)


def _ident(v: str) -> str:
    if not 1 <= len(v) <= MAX_ID:
        raise ValueError(f"must be 1-{MAX_ID} characters")
    if bad := unsafe_chars(v):
        raise ValueError(f"must not contain control or bidirectional characters "
                         f"({', '.join(f'U+{ord(c):04X}' for c in bad[:3])})")
    if v != v.strip():
        raise ValueError("must not start or end with whitespace")
    return v


def _free_text(limit: int) -> Any:
    def check(v: str) -> str:
        if len(v) > limit:
            raise ValueError(f"must be at most {limit} characters")
        if bad := [ch for ch in v if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r"]:
            raise ValueError(f"must not contain control characters "
                             f"({', '.join(f'U+{ord(c):04X}' for c in bad[:3])})")
        return v
    return check


def _at_most(n: int) -> Any:
    def check(v: list[Any]) -> list[Any]:
        if len(v) > n:
            raise ValueError(f"at most {n} items")
        return v
    return check


Ident = Annotated[str, _at_intake(_ident)]
MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)")  # `@bob`, not a@b


def mentions(text: str) -> list[str]:
    """The people a text names as `@id`, once each, in order."""
    return list(dict.fromkeys(MENTION.findall(text)))
PolicyIds = Annotated[list[Ident], _at_intake(_at_most(20))]
"""An id or a person's handle: 1-200 characters, no control or bidi characters."""


ReportText = Annotated[str, _at_intake(_free_text(MAX_REPORT_TEXT))]


Reason = Annotated[str, Field(min_length=1), _at_intake(_free_text(MAX_REASON))]
"""Free text: capped, no control characters but tab and line breaks (bidi ones are shown
escaped wherever casework prints text)."""


def csv_text(header: list[str], rows: list[list[Any]]) -> str:
    """Rows as CSV; a cell a spreadsheet would run as a formula starts with a quote."""
    import csv
    import io

    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(header)
    for row in rows:
        w.writerow([_cell("" if v is None else str(v)) for v in row])
    return out.getvalue()


def _cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
