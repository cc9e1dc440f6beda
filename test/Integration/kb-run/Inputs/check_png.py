"""Checks that a file is a PNG of a sane size: the signature, then the IHDR chunk's
width and height (the figure of a timeline and a bar chart is hundreds of pixels)."""
import struct
import sys

data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
length, kind = struct.unpack(">I4s", data[8:16])
assert kind == b"IHDR" and length == 13, (kind, length)
width, height = struct.unpack(">II", data[16:24])
assert 300 <= width <= 10000 and 300 <= height <= 10000, (width, height)
assert len(data) > 10000, f"only {len(data)} bytes: an empty figure?"
print(f"png {width}x{height} ok")
