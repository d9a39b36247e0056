"""The hostile-input corpus: what an attacker types into every field, query parameter and API
field. Strings may hold lone surrogates: they are sent as the bytes a client would send
(CESU-8 in a form, `\\udXXX` escapes in JSON)."""

from __future__ import annotations

from typing import Any

MB = 1_000_000

# Payloads that would do harm if they came back unescaped in HTML.
MARKUP = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(1)>",
    "'><iframe srcdoc='<script>alert(1)</script>'>",
    "<a href=javascript:alert(1)>x</a>",
]

STRINGS: list[str] = [
    # SQL injection
    "' OR '1'='1",
    "1; DROP TABLE clients; --",
    '" OR ""="',
    "1' UNION SELECT password_hash, email FROM clients--",
    "%' AND 1=0 UNION SELECT NULL--",
    "5e83e12b1' OR 1=1--",
    # template injection
    "{{7*7}}",
    "{{ config }}",
    "{% for x in range(10**9) %}{% endfor %}",
    "${7*7}",
    "#{7*7}",
    # markup
    *MARKUP,
    "javascript:alert(1)",
    # huge
    "A" * MB,
    "я" * 20_000,  # 120 KB url-encoded: far past every field's limit
    "9" * 5000,
    # NUL and control characters
    "\x00",
    "abc\x00def",
    "\x1b[31mred",
    "\x07\x08\x0b\x0c",
    "\r\nSet-Cookie: hacked=1",
    "line\nbreak",
    "\t",
    "\x7f",
    "\x85",
    # lone surrogates
    "\ud800",
    "x\udfffy",
    # bidirectional overrides, invisible characters
    "\u202eexe.txt",
    "\u2066abc\u2069",
    "\u200b\u200c\u200d",
    "\ufeff",
    # homoglyphs
    "аlfa@example.ru",  # Cyrillic а
    "5е83е12b1",  # Cyrillic е in a code
    "ΑΒΓ",
    # numbers
    "-1",
    "0",
    "2147483648",
    "9223372036854775808",
    "-9223372036854775809",
    "99999999999999999999",
    "1e308",
    "NaN",
    "Infinity",
    "0x10",
    "١٢٣",
    "１２３",
    # paths and URLs
    "../../../../etc/passwd",
    "%00",
    "%2e%2e%2f",
    "//evil.example",
    "https://evil.example/",
    # other Unicode, empty
    "😀" * 50,
    "Ω≈ç√∫˜µ≤≥÷",
    "",
    " ",
    "\u3000",
    # e-mail and phone shapes
    "a@b.ru\r\nBcc: x@y.ru",
    '"very.unusual.@.unusual.com"@example.com',
    "+7 (910) 123-45-67 доб. 5",
    "+79101234567" * 10,
]

# For fields and parameters a route does not have: a few of each kind, enough to show they
# are ignored or refused.
SAMPLE: list[str] = [
    "' OR '1'='1",
    "{{7*7}}",
    MARKUP[0],
    "A" * MB,
    "\x00",
    "\ud800",
    "\u202eexe.txt",
    "99999999999999999999",
    "../../../../etc/passwd",
    "",
]

# JSON values of the wrong type for any field.
JSON_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**63,
    -(2**63) - 1,
    1e308,
    0.5,
    [],
    {},
    [1, 2],
    {"$ne": 1},
    {"nested": {"deeper": [None]}},
]

# Whole request bodies for the JSON endpoints: (content type, body).
RAW_BODIES: list[tuple[str, bytes]] = [
    ("application/json", b""),
    ("application/json", b"{"),
    ("application/json", b"[]"),
    ("application/json", b"null"),
    ("application/json", b'"just a string"'),
    ("application/json", b'{"name": "A", "name": "B", "registered_at": "2023-03-20"}'),
    ("application/json", b"\xff\xfe\x00"),
    ("application/json", b'{"name": "\\ud800", "registered_at": "2023-03-20"}'),
    ("application/json", b"[" * 50_000 + b"]" * 50_000),
    ("application/json", b'{"lines": [' + b'{"kind": "pbx", "amount": 1},' * 5000 + b"{}]}"),
    ("application/json", b"NaN"),
    ("application/json", b'{"amount": Infinity}'),
    ("text/plain", b'{"name": "A", "registered_at": "2023-03-20"}'),
    ("application/x-www-form-urlencoded", b"name=A&registered_at=2023-03-20"),
    ("multipart/form-data; boundary=x", b"--x\r\n\r\n--x--"),
    ("application/json; charset=utf-16", '{"name": "A"}'.encode("utf-16")),
]

PATH_SEGMENTS = [
    "0",
    "-1",
    "2147483648",
    "9223372036854775808",
    "99999999999999999999999999",
    "1e3",
    "abc",
    "%00",
    "..%2f..%2fetc%2fpasswd",
    "%ED%A0%80",
    "<script>",
    "' OR 1=1--",
    "١",
]
