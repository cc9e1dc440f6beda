"""Source locations: the user's file:line:col that each recorded op came from.

Every op, function argument and return the front end records carries the location of
the user's code that made it, written into the IR as an MLIR location
(`loc("model.py":13:9)`). kb-opt and kb-run report their diagnostics at an op's
location, so an error names the line of the user's model, not a line of a temporary
file the front end wrote and deleted.

The user's frame is the innermost one outside kb and the packages that record ops on
the user's behalf (they register their directory, as the kernbench compatibility
package does). Code that records ops for another place (the kernbench recorder builds
its program after tracing) sets that place with `at(location)`.
"""
import contextlib
import contextvars
import os
import sys

_KB_DIR = os.path.dirname(os.path.abspath(__file__))
_INTERNAL_DIRS = [_KB_DIR]
_override = contextvars.ContextVar("kb_location", default=None)


class Location:
    """A file, a line and a column (1-based, as MLIR counts them)."""

    __slots__ = ("file", "line", "column")

    def __init__(self, file, line, column=1):
        self.file, self.line, self.column = file, line, column

    def to_mlir(self):
        """`loc("file":line:col)`, the file quoted as an MLIR string."""
        escaped = self.file.replace("\\", "\\\\").replace('"', '\\"')
        return f'loc("{escaped}":{self.line}:{self.column})'

    def __str__(self):
        return f"{self.file}:{self.line}:{self.column}"

    def __repr__(self):
        return f"Location({self.file!r}, {self.line}, {self.column})"

    def __eq__(self, other):
        return isinstance(other, Location) and (self.file, self.line, self.column) == (
            other.file, other.line, other.column)

    def __hash__(self):
        return hash((self.file, self.line, self.column))


def register_internal_directory(directory):
    """Frames from files under `directory` are skipped when looking for the user's line
    (for packages that record ops on the user's behalf)."""
    directory = os.path.abspath(directory)
    if directory not in _INTERNAL_DIRS:
        _INTERNAL_DIRS.append(directory)


def _is_internal(filename):
    path = os.path.abspath(filename)
    return any(path == d or path.startswith(d + os.sep) for d in _INTERNAL_DIRS)


def _column(frame):
    # Python 3.11+ knows the columns of the instruction a frame is executing
    # (co_positions has one entry per 2-byte code unit); older ones only the line.
    positions = getattr(frame.f_code, "co_positions", None)
    if positions is None:
        return 1
    for index, (_, _, column, _) in enumerate(positions()):
        if index == frame.f_lasti // 2:
            return column + 1 if isinstance(column, int) and column >= 0 else 1
    return 1


def caller_location():
    """Where the user's code is: the location set by `at`, else the innermost frame
    outside kb and the registered packages (code typed into the interpreter is located
    in "<stdin>" or "<string>"; None only when every frame is kb's own)."""
    override = _override.get()
    if override is not None:
        return override
    frame = sys._getframe(1)
    while frame is not None and _is_internal(frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        return None
    return Location(frame.f_code.co_filename, frame.f_lineno, _column(frame))


@contextlib.contextmanager
def at(location):
    """Ops recorded inside the block take `location` (a Location or None) instead of
    the caller's frame."""
    token = _override.set(location)
    try:
        yield
    finally:
        _override.reset(token)
