"""Files as the repository means them, whichever machine checked them out.

A Windows checkout turns LF into CRLF (and an editor may add a UTF-8 byte order mark); the code
and the data are the same. Everything that is hashed into a job's fingerprint or shipped to
AWS goes through `normalized_text`, so another checkout never changes a job or starts one.
"""

from __future__ import annotations

UTF8_BOM = b"\xef\xbb\xbf"


def normalized_text(data: bytes) -> bytes:
    """`data` without a leading UTF-8 byte order mark and with LF line endings."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM):]
    return data.replace(b"\r\n", b"\n")
