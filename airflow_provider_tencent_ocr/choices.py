"""Arguments that take one of a few words: each set declared once, as a ``Literal`` type, and one check.

The operator and the Airflow-free parts (``RunOptions``, ``build_row_transform``) share these types,
so a value is typed the same everywhere and refused by the same function with the same message.
``pii`` is a ``PiiMode`` (``pii.py``); ``PiiModeName`` is the text form an operator argument takes.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

SendAs = Literal["base64", "url"]
PhotoOutput = Literal["none", "inline", "files"]
PiiModeName = Literal["plain", "mask", "hash"]


def check_choice(name: str, value: Any, choices: Any) -> Any:
    """``value`` if it is one of the ``Literal`` type ``choices``; else a ValueError naming the argument."""
    allowed = get_args(choices)
    if value not in allowed:
        shown = repr(value) if isinstance(value, str) and len(value) <= 20 else f"a {type(value).__name__}"
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, not {shown}")
    return value
