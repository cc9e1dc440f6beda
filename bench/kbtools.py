"""Where the benchmarks find kb's tools: $KB_TOOLS_DIR, else this checkout's build/bin,
else PATH (an installed kb). The same order as the Python package's kb.tools."""
import os
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tool(name):
    """The path of kb tool `name`; SystemExit with how to fix it when there is none."""
    candidates = []
    if os.environ.get("KB_TOOLS_DIR"):
        candidates.append(os.path.join(os.environ["KB_TOOLS_DIR"], name))
    candidates.append(os.path.join(ROOT, "build", "bin", name))
    for path in candidates:
        if os.access(path, os.X_OK):
            return path
    found = shutil.which(name)
    if found:
        return found
    raise SystemExit(f"{name} not found in {', '.join(candidates)} or on PATH: build kb "
                     f"(./scripts/build.sh) or set KB_TOOLS_DIR to the directory holding it")


def tools_dir():
    """The directory holding kb-opt and kb-run."""
    return os.path.dirname(tool("kb-run"))
