"""Finding and running kb-opt and kb-run, with their failures surfaced in full."""
import os
import shutil
import subprocess

_REPO_BIN = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin"))


class ToolError(RuntimeError):
    """A kb tool was missing or failed: which one, how it was called, its exit status
    and what it printed on stderr."""

    def __init__(self, tool, message, command=None, returncode=None, stderr=""):
        self.tool, self.command, self.returncode, self.stderr = tool, command, returncode, stderr
        text = f"{tool}: {message}"
        if command:
            text += f"\n  command: {' '.join(command)}"
        if returncode is not None:
            text += f"\n  exit status: {returncode}"
        if stderr:
            text += "\n  stderr:\n    " + "\n    ".join(stderr.rstrip().splitlines())
        super().__init__(text)


def find_tool(name):
    """The path of `name`: $KB_TOOLS_DIR, then the repository's build/bin, then PATH."""
    searched = []
    for directory in (os.environ.get("KB_TOOLS_DIR"), _REPO_BIN):
        if directory:
            path = os.path.join(directory, name)
            searched.append(directory)
            if os.access(path, os.X_OK):
                return path
    found = shutil.which(name)
    if found:
        return found
    raise ToolError(name, f"not found (looked in {', '.join(searched)} and PATH); build it "
                          "with scripts/build.sh or point KB_TOOLS_DIR at its directory")


def run_tool(name, args):
    command = [find_tool(name)] + [os.fspath(a) for a in args]
    try:
        done = subprocess.run(command, capture_output=True, text=True)
    except OSError as e:
        raise ToolError(name, f"could not start: {e}", command) from e
    if done.returncode != 0:
        reason = (f"killed by signal {-done.returncode}" if done.returncode < 0
                  else "failed")
        raise ToolError(name, reason, command, done.returncode, done.stderr)
    return done
