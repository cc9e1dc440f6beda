# -*- Python -*-
# lit configuration for kb's regression tests.

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "KB"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]

config.excludes = ["CMakeLists.txt", "README.md", "lit.cfg.py", "lit.site.cfg.py",
                   "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.kb_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%kb_src_root", config.kb_src_root))
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%kb_tools_dir", config.kb_tools_dir))
config.substitutions.append(("%kb_obj_root", config.kb_obj_root))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP",
                                     "ASAN_OPTIONS", "UBSAN_OPTIONS",
                                     "KB_TOOLS_DIR"])
llvm_config.use_default_substitutions()

tool_dirs = [config.kb_tools_dir, config.llvm_tools_dir]
tools = ["kb-opt", "kb-run", "kb-lsp-server", "not", "count", "FileCheck"]
llvm_config.add_tool_substitutions(tools, tool_dirs)
