"""Builds the kb-ahbm distribution (metadata in pyproject.toml). One addition to the
standard build: the installed package records where kb-opt and kb-run are, so that it
finds them without PATH or KB_TOOLS_DIR.

The directory recorded is $KB_TOOLS_DIR when it is set at install time, else the
build/bin of the kb checkout this directory belongs to (written whether or not the
tools are built yet; kb looks there at run time). It goes to kb/_configured.py in the
built package only, never into the source tree.
"""
import os

from setuptools import setup
from setuptools.command.build_py import build_py

_HERE = os.path.dirname(os.path.abspath(__file__))


def _tools_dir():
    given = os.environ.get("KB_TOOLS_DIR")
    if given:
        return os.path.abspath(given)
    return os.path.join(os.path.dirname(_HERE), "build", "bin")


class BuildPyRecordingTools(build_py):
    def run(self):
        super().run()
        target = os.path.join(self.build_lib, "kb", "_configured.py")
        with open(target, "w") as f:
            f.write('"""Written by setup.py when the package was built."""\n')
            f.write(f"TOOLS_DIR = {_tools_dir()!r}\n")


setup(cmdclass={"build_py": BuildPyRecordingTools})
