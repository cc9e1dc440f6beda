"""Writes a lowered program whose entry calls a tree of kernels: LEVELS levels of FANOUT
calls each, ending in an empty kernel. It holds no device work, yet expands to
FANOUT^LEVELS calls: kb-run must refuse it rather than expand for ever.

  call_tree.py LEVELS FANOUT > tree.mlir
"""
import sys

levels, fanout = int(sys.argv[1]), int(sys.argv[2])
out = ["module attributes {kb.spmd, kb.world_size = 1 : i64} {",
       f"  func.func private @k{levels}() {{", "    return", "  }"]
for level in range(levels - 1, -1, -1):
    out.append(f"  func.func private @k{level}() {{")
    out += [f"    call @k{level + 1}() : () -> ()"] * fanout
    out += ["    return", "  }"]
piece = "{gemm_tile.piece = #gemm_tile.piece<tensor = 0, offsets = [0, 0]>}"
out += [
    f"  func.func @f(%x: memref<4x4xf32, #gemm_tile.cube<0>> {piece})",
    f"      -> (memref<4x4xf32, #gemm_tile.cube<0>> {piece})",
    "      attributes {kb.local_function_type = (tensor<4x4xf32>) -> tensor<4x4xf32>,",
    "                  kb.arg_split_dims = array<i64: -1>, kb.result_split_dims = array<i64: -1>} {",
    "    call @k0() : () -> ()",
    "    return %x : memref<4x4xf32, #gemm_tile.cube<0>>",
    "  }",
    "}",
]
print("\n".join(out))
