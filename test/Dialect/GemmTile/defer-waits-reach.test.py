"""A caller of @q (whose trailing copy gemm-tile-defer-waits defers), then N
calls of @k on another buffer, then @use, which reads @q's result."""
import sys

n = int(sys.argv[1])
print("""!a = memref<8x16xf16, #gemm_tile.cube<0>>
!o = memref<8x16xf16, #gemm_tile.cube<1>>
func.func private @q(%x: !a) -> !o {
  %y = gemm_tile.alloc : !a
  %t = gemm_tile.map "gelu" pe 0 %x [0, 0] to %y [0, 0] sizes [8, 16] : !a, !a
  gemm_tile.wait %t
  %o = gemm_tile.alloc : !o
  %c = gemm_tile.dma %y [0, 0] to %o [0, 0] sizes [8, 16] : !a, !o
  gemm_tile.wait %c
  return %o : !o
}
func.func private @k(%x: !a) -> !a {
  %t = gemm_tile.map "gelu" pe 1 %x [0, 0] to %x [0, 0] sizes [8, 16] : !a, !a
  gemm_tile.wait %t
  return %x : !a
}
func.func private @use(%q: !o) {
  %t = gemm_tile.map "gelu" pe 0 %q [0, 0] to %q [0, 0] sizes [8, 16] : !o, !o
  gemm_tile.wait %t
  return
}
func.func @layer(%x: !a, %w: !a) {
  %q = call @q(%x) : (!a) -> !o""")
for i in range(n):
    print(f"  %k{i} = call @k(%w) : (!a) -> !a")
print("""  call @use(%q) : (!o) -> ()
  return
}""")
