"""What people are told when MongoDB fails: one line, the server's address without its password.

pymongo's own messages carry the whole topology description (several hundred characters, every
timeout setting); an operator needs the address and the reason.
"""
from __future__ import annotations

import re

from pymongo.errors import PyMongoError

from analytics_pipeline.core.redaction import redact

_DETAIL = re.compile(r"\s*\((?:configured timeouts|Timeout:)|, Timeout: |, Topology Description")


def unreachable_message(exc: PyMongoError, uri: str, doing: str | None = None) -> str:
    """``cannot reach MongoDB at <uri>: <reason>`` when connecting, or ``MongoDB at <uri> failed
    while <doing>: <reason>``; the reason's first line, the password redacted."""
    reason = (_DETAIL.split(str(exc), maxsplit=1)[0].strip() or type(exc).__name__).splitlines()[0]
    if doing is None:
        return redact(f"cannot reach MongoDB at {uri}: {reason}")
    return redact(f"MongoDB at {uri} failed while {doing}: {reason}")
