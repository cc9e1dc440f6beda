"""Finding and running kb-opt and kb-run, with their failures surfaced in full.

The tools are the compiler; the front end only drives them. When they fail, the user
needs what a shell would have shown (the command, the exit status, stderr with its
file:line:col diagnostics), not a bare CalledProcessError, so every failure becomes a
ToolError carrying all of it.
"""
import os
import shlex
import shutil
import subprocess

_REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
# The checkout's tools when kb runs from its source tree (PYTHONPATH=python); an
# installed copy has no checkout around it and uses the directory recorded at install.
_IN_CHECKOUT = os.path.isfile(os.path.join(_REPO, "scripts", "build.sh"))
_REPO_BIN = os.path.join(_REPO, "build", "bin") if _IN_CHECKOUT else None


def configured_tools_dir():
    """The tools directory recorded when the package was installed (setup.py writes
    kb/_configured.py: $KB_TOOLS_DIR at install time, else the checkout's build/bin),
    or None when kb runs from its source tree."""
    try:
        from ._configured import TOOLS_DIR
    except ImportError:
        return None
    return TOOLS_DIR


class ToolError(RuntimeError):
    """A kb tool was missing or failed: `tool`, `command` (argv), `returncode`, `stderr`.
    `report` is kb-run's JSON report when a run failed after writing one (a failed
    --check), else None."""

    def __init__(self, tool, message, command=None, returncode=None, stderr=""):
        self.tool, self.command, self.returncode, self.stderr = tool, command, returncode, stderr
        self.report = None
        text = f"{tool}: {message}"
        if command:
            text += f"\n  command: {shlex.join(command)}"
        if returncode is not None:
            text += f"\n  exit status: {returncode}"
        if stderr:
            text += "\n  stderr:\n    " + "\n    ".join(stderr.rstrip().splitlines())
        super().__init__(text)


def find_tool(name):
    """The path of `name`: $KB_TOOLS_DIR, then the checkout's build/bin (running from
    the source tree), then the directory recorded at install, then PATH."""
    searched = []
    for directory in (os.environ.get("KB_TOOLS_DIR"), _REPO_BIN, configured_tools_dir()):
        if directory and directory not in searched:
            searched.append(directory)
            path = os.path.join(directory, name)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
    found = shutil.which(name)
    if found:
        return found
    looked = ", ".join(searched + ["PATH"])
    raise ToolError(name, f"not found (looked in {looked}). Build the tools in a kb "
                          f"checkout with `scripts/build.sh` (or `ninja -C build {name}`), "
                          f"then either put its build/bin on PATH, set KB_TOOLS_DIR to that "
                          f"directory, or install this package with KB_TOOLS_DIR set "
                          f"(`KB_TOOLS_DIR=/path/to/build/bin pip install ./python` records "
                          f"it)")


def run_tool(name, args):
    """Runs tool `name` with `args`; returns the CompletedProcess (text stdout/stderr)
    or raises ToolError."""
    command = [find_tool(name)] + [os.fspath(a) for a in args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, errors="replace")
    except OSError as e:
        raise ToolError(name, f"could not start: {e}", command) from e
    if done.returncode != 0:
        reason = (f"killed by signal {-done.returncode}" if done.returncode < 0
                  else "failed")
        raise ToolError(name, reason, command, done.returncode, done.stderr)
    return done
