//===- KBModelOps.td - ops of whole models ------------------*- tablegen -*-===//
//
// What a model needs around its decoder layers: the token-id embedding
// (Megatron's VocabParallelEmbedding) and the tied output layer that
// multiplies by its table. Included from KBOps.td, which defines
// KB_FloatTensor.
//
//===----------------------------------------------------------------------===//

#ifndef KB_DIALECT_KB_IR_KBMODELOPS_TD
#define KB_DIALECT_KB_IR_KBMODELOPS_TD

// Token ids: signless i32 or i64, as numpy's int32 and int64.
def KB_IdTensor : RankedTensorOf<[I32, I64]>;

def KB_EmbeddingOp : KB_Op<"embedding", [Pure,
    DeclareOpInterfaceMethods<KB_TPPartitionOpInterface>]> {
  let summary = "Rows of an embedding table gathered by token id";
  let description = [{
    `result[s, :] = table[ids[s], :]` for `ids : [S]` (i32 or i64),
    `table : [V, H]` and `result : [S, H]` of the table's element type. An
    id outside `[0, V)` is an error when the program runs, naming the id,
    its position and V. GPT-2's token embedding (`wte`) is one; its learned
    positions (`wpe`) are another, of the ids `0 .. S-1` (`arange`).

    ```mlir
    %x = kb.embedding %ids, %wte : tensor<9xi32>, tensor<50257x768xf16> -> tensor<9x768xf16>
    ```

    Under TP world size W it is Megatron's `VocabParallelEmbedding`: the
    vocabulary is cut into W shards of `N = ceil(V / W)` ids, rank r looks up
    the ids in `[r·N, min((r+1)·N, V))`, writes zero rows for the others,
    and the partial sums are reduced over the ranks (an all-reduce, or a
    reduce-scatter along the tokens under sequence parallelism). When W
    divides V the table is split along its rows and each rank holds its
    shard; otherwise the vocabulary is padded to `W·N` (Megatron's
    make-vocab-size-divisible-by, with the multiple W) and, since the padded
    rows are never looked up, not stored: each rank reads its shard from the
    whole table.

    The local form, which kb-tp-partition builds, takes the rank and names
    the vocabulary size V and the shard size N: the table is the rank's
    shard when it has N rows, else the whole table of V rows.

    ```mlir
    %r = kb.tp_rank : index
    %p = kb.embedding %ids, %wte_shard [%r] vocab 50256 shard 12564
        : tensor<9xi32>, tensor<12564x768xf16> -> tensor<9x768xf16>
    ```
  }];
  let arguments = (ins KB_IdTensor:$ids, KB_FloatTensor:$table,
                       Optional<Index>:$rank,
                       OptionalAttr<ConfinedAttr<I64Attr, [IntPositive]>>:$vocab_size,
                       OptionalAttr<ConfinedAttr<I64Attr, [IntPositive]>>:$shard_rows);
  let results = (outs KB_FloatTensor:$result);
  let assemblyFormat = [{
    $ids `,` $table (`[` $rank^ `]` `vocab` $vocab_size `shard` $shard_rows)?
    attr-dict `:` type($ids) `,` type($table) `->` type($result)
  }];
  let hasVerifier = 1;
  let builders = [
    // The global form.
    OpBuilder<(ins "::mlir::Type":$resultType, "::mlir::Value":$ids,
                   "::mlir::Value":$table), [{
      build($_builder, $_state, resultType, ids, table, ::mlir::Value(),
            ::mlir::IntegerAttr(), ::mlir::IntegerAttr());
    }]>
  ];
  let extraClassDeclaration = [{
    /// V: the vocabulary the ids index.
    int64_t getVocabularySize() {
      if (std::optional<uint64_t> v = getVocabSize())
        return static_cast<int64_t>(*v);
      return ::llvm::cast<::mlir::RankedTensorType>(getTable().getType())
          .getDimSize(0);
    }
    /// N: the ids each rank owns (V in the global view).
    int64_t getShardSize() {
      if (std::optional<uint64_t> n = getShardRows())
        return static_cast<int64_t>(*n);
      return getVocabularySize();
    }
    /// Whether the table is a rank's shard of N rows, not the whole table.
    bool holdsShard() {
      return getRank() &&
             ::llvm::cast<::mlir::RankedTensorType>(getTable().getType())
                     .getDimSize(0) == getShardSize() &&
             getShardSize() != getVocabularySize();
    }
  }];
}

def KB_LMHeadOp : KB_Op<"lm_head", [Pure,
    DeclareOpInterfaceMethods<KB_TPPartitionOpInterface>]> {
  let summary = "Logits of the tied output layer: input · tableᵀ";
  let description = [{
    The tied LM head: `result[s, v] = Σ_h input[s, h] · table[v, h]` for
    `input : [S, H]`, the embedding's `table : [V, H]` (the same argument
    the token embedding reads: no transposed copy) and `result : [S, Vp]`,
    `Vp ≥ V`, whose columns `V .. Vp-1` are zero: the vocabulary padded to
    a multiple of the TP world size (Megatron's make-vocab-size-divisible-by),
    sliced off after the logits are gathered.

    ```mlir
    %l = kb.lm_head %h, %wte : tensor<9x768xf16>, tensor<50257x768xf16> -> tensor<9x50260xf16>
    ```

    Under TP world size W it is column-parallel over the vocabulary
    (Megatron's output layer with shared embedding weights): rank r computes
    the `N = Vp / W` logits of ids `[r·N, (r+1)·N)`, zero for ids at or past
    V, and the result is split along the vocabulary. When `Vp = V` and W
    divides V the table is split along its rows, as the embedding's; otherwise
    each rank reads its rows from the whole table.

    The local form, which kb-tp-partition builds, takes the rank and names V
    and N: the table is the rank's shard when it has N rows (and `W·N = V`),
    else the whole table of V rows.

    ```mlir
    %r = kb.tp_rank : index
    %l = kb.lm_head %h, %wte [%r] vocab 50257 shard 12565
        : tensor<9x768xf16>, tensor<50257x768xf16> -> tensor<9x12565xf16>
    ```
  }];
  let arguments = (ins KB_FloatTensor:$input, KB_FloatTensor:$table,
                       Optional<Index>:$rank,
                       OptionalAttr<ConfinedAttr<I64Attr, [IntPositive]>>:$vocab_size,
                       OptionalAttr<ConfinedAttr<I64Attr, [IntPositive]>>:$shard_rows);
  let results = (outs KB_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $table (`[` $rank^ `]` `vocab` $vocab_size `shard` $shard_rows)?
    attr-dict `:` type($input) `,` type($table) `->` type($result)
  }];
  let hasVerifier = 1;
  let builders = [
    // The global form.
    OpBuilder<(ins "::mlir::Type":$resultType, "::mlir::Value":$input,
                   "::mlir::Value":$table), [{
      build($_builder, $_state, resultType, input, table, ::mlir::Value(),
            ::mlir::IntegerAttr(), ::mlir::IntegerAttr());
    }]>
  ];
  let extraClassDeclaration = [{
    /// V: the ids with a row in the table.
    int64_t getVocabularySize() {
      if (std::optional<uint64_t> v = getVocabSize())
        return static_cast<int64_t>(*v);
      return ::llvm::cast<::mlir::RankedTensorType>(getTable().getType())
          .getDimSize(0);
    }
    /// Whether the table is a rank's shard of N rows, not the whole table.
    bool holdsShard() {
      return getRank() &&
             ::llvm::cast<::mlir::RankedTensorType>(getTable().getType())
                     .getDimSize(0) == static_cast<int64_t>(*getShardRows()) &&
             static_cast<int64_t>(*getShardRows()) != getVocabularySize();
    }
    /// The id of result column 0 on rank `rank`, relative to the table's
    /// row 0: r·N when the rank reads its rows from the whole table.
    int64_t firstTableRow(int64_t rank) {
      return getRank() && !holdsShard()
                 ? rank * static_cast<int64_t>(*getShardRows())
                 : 0;
    }
    /// The table rows that hold real ids (the rest of the result is zero).
    int64_t getTableRows() {
      return ::llvm::cast<::mlir::RankedTensorType>(getTable().getType())
          .getDimSize(0);
    }
  }];
}

#endif // KB_DIALECT_KB_IR_KBMODELOPS_TD
