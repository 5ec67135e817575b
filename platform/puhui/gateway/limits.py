"""Size and shape limits applied before any parsing: body size, JSON nesting depth, content type."""

from __future__ import annotations

import re

__all__ = ["json_depth_exceeds"]

_STRUCTURAL = re.compile(rb'[\[\]{}"\\]')


def json_depth_exceeds(body: bytes, max_depth: int) -> bool:
    """True when the JSON text nests deeper than ``max_depth`` (strings and escapes respected)."""
    depth = 0
    in_string = False
    escaped_at = -2
    for match in _STRUCTURAL.finditer(body):
        char = match.group()
        pos = match.start()
        if in_string:
            if char == b"\\":
                if escaped_at != pos - 1:
                    escaped_at = pos
                continue
            if char == b'"' and escaped_at != pos - 1:
                in_string = False
            continue
        if char == b'"':
            in_string = True
        elif char in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                return True
        elif char in (b"]", b"}"):
            depth -= 1
    return False
