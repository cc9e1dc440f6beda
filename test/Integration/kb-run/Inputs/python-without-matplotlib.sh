#!/bin/sh
# An interpreter without matplotlib: `$0 -m kb.plot ARGS` runs kb.plot under
# $KB_TEST_PYTHON with every import of matplotlib failing.
shift 2
exec "$KB_TEST_PYTHON" -c 'import sys, runpy
sys.modules["matplotlib"] = None
sys.argv = ["kb.plot"] + sys.argv[1:]
runpy.run_module("kb.plot", run_name="__main__")' "$@"
