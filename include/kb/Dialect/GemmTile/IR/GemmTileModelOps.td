//===- GemmTileModelOps.td - row gathers by token id -------*- tablegen -*-===//
//
// The device side of kb.embedding: a gather of table rows by token id, run
// by the DMA engine of the target's cube (it copies rows; no PE computes).
// Included from GemmTileOps.td.
//
//===----------------------------------------------------------------------===//

#ifndef KB_DIALECT_GEMMTILE_IR_GEMMTILEMODELOPS_TD
#define KB_DIALECT_GEMMTILE_IR_GEMMTILEMODELOPS_TD

def GemmTile_GatherRowsOp : GemmTile_Op<"gather_rows"> {
  let summary = "Copy table rows chosen by token ids (DMA engine)";
  let description = [{
    For `sizes = [rows, cols]` and each `i < rows`, with `id = ids[x + i]`:
    when `id` is one this rank's table region holds, copies
    `table[t0 + id - first, t1 : t1 + cols]` to `out[o0 + i, o1 : o1 + cols]`,
    where `first = first_id + rank · rank_stride` is the id of the region's
    first row and the region holds `table_rows` rows; ids the region does not
    hold leave their out row untouched (a fresh buffer is zero, so the rows
    of other vocabulary shards stay zero, to be summed over the ranks). The
    rank owns only ids in `[rank · shard, (rank + 1) · shard)`: a region of a
    whole table gathers the rank's shard of it. An id outside
    `[0, vocab)` stops the program with an error naming the id, its
    position and `vocab`. The buffers may be in any cubes (the DMA engine of
    out's cube reads over the fabric); `ids` holds i32 or i64, `table` and
    `out` one float type.

    ```mlir
    %t = gemm_tile.gather_rows %ids [0], %wte [0, 0] to %x [0, 0]
        sizes [9, 192] table_rows 16 first_id 0 rank_stride 16 shard 16 vocab 64
        : memref<9xi32, #gemm_tile.cube<0>>, memref<16x192xf16, #gemm_tile.cube<0>>,
          memref<9x192xf16, #gemm_tile.cube<0>>
    ```
  }];
  let arguments = (ins
      Arg<MemRefOf<[I32, I64]>, "", [MemRead]>:$ids,
      DenseI64ArrayAttr:$ids_offsets,
      Arg<GemmTile_Buffer, "", [MemRead]>:$table,
      DenseI64ArrayAttr:$table_offsets,
      Arg<GemmTile_Buffer, "", [MemWrite]>:$out,
      DenseI64ArrayAttr:$out_offsets,
      DenseI64ArrayAttr:$sizes,
      ConfinedAttr<I64Attr, [IntPositive]>:$table_rows,
      ConfinedAttr<I64Attr, [IntNonNegative]>:$first_id,
      ConfinedAttr<I64Attr, [IntNonNegative]>:$rank_stride,
      ConfinedAttr<I64Attr, [IntPositive]>:$shard,
      ConfinedAttr<I64Attr, [IntPositive]>:$vocab);
  let results = (outs GemmTile_TokenType:$token);
  let assemblyFormat = [{
    $ids $ids_offsets `,` $table $table_offsets `to` $out $out_offsets
    `sizes` $sizes `table_rows` $table_rows `first_id` $first_id
    `rank_stride` $rank_stride `shard` $shard `vocab` $vocab attr-dict
    `:` type($ids) `,` type($table) `,` type($out)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The ids rank `rank` copies: those of its table region and its shard,
    /// [begin, end).
    std::pair<int64_t, int64_t> gatheredIds(int64_t rank) {
      auto shard = static_cast<int64_t>(getShard());
      int64_t first = firstId(rank);
      int64_t begin = std::max(first, rank * shard);
      int64_t end = std::min({first + static_cast<int64_t>(getTableRows()),
                              (rank + 1) * shard,
                              static_cast<int64_t>(getVocab())});
      return {begin, std::max(begin, end)};
    }
    /// The id of the table region's first row on rank `rank`.
    int64_t firstId(int64_t rank) {
      return static_cast<int64_t>(getFirstId()) +
             rank * static_cast<int64_t>(getRankStride());
    }
  }];
}

#endif // KB_DIALECT_GEMMTILE_IR_GEMMTILEMODELOPS_TD
