"""Keep credentials out of logs and error messages."""
from __future__ import annotations

import re

# scheme://user:password@host -> scheme://user:***@host (also covers mongodb+srv://)
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@\s]*)@")
_QUERY_SECRETS = re.compile(r"(?i)(?P<key>(password|passwd|pwd|secret|token|apikey|api_key)=)[^&\s]+")


def redact(text: str) -> str:
    """Replace passwords in any URIs (and secret-looking query parameters) inside ``text``."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    return _QUERY_SECRETS.sub(lambda m: f"{m['key']}***", text)
