//===- KBTransformerOps.td - decoder-layer ops --------------*- tablegen -*-===//
//
// The ops of a transformer decoder layer beyond the linear layers: the norms,
// rotary position embedding, the causal attention core and the KV-cache
// append of decode. Their math is docs/Transformer.md's (Hugging Face's
// conventions); every op computes in f32 and rounds its result once to the
// element type. Included from KBOps.td, which defines KB_FloatTensor.
//
//===----------------------------------------------------------------------===//

#ifndef KB_DIALECT_KB_IR_KBTRANSFORMEROPS_TD
#define KB_DIALECT_KB_IR_KBTRANSFORMEROPS_TD

//===----------------------------------------------------------------------===//
// Norms over the last axis.
//===----------------------------------------------------------------------===//

def KB_RMSNormOp
    : KB_Op<"rms_norm", [Pure, KB_ResultTypeOfFirstOperand,
        DeclareOpInterfaceMethods<KB_TPPartitionOpInterface>]> {
  let summary = "Root-mean-square norm over the last axis, times a weight";
  let description = [{
    `result = input / sqrt(mean(input², last axis) + eps) · weight`, the
    RMSNorm of Llama (Hugging Face's `LlamaRMSNorm`). `input` has any static
    shape `[..., H]`, `weight` is `[H]`, and the result has `input`'s type
    (or, after an arrow, another `#kb.dp` placement of its shape and element
    type: each cube then stages the whole rows it normalizes).
    The sum of squares accumulates in f32 and the result is rounded once to
    the element type. `eps` defaults to 1e-5 and must be positive.

    ```mlir
    %n = kb.rms_norm %x, %w : tensor<16x4096xf16>, tensor<4096xf16>
    %m = kb.rms_norm %x, %w {eps = 1.0e-06 : f32} : tensor<16x4096xf16>, tensor<4096xf16>
    ```
  }];
  let arguments = (ins KB_FloatTensor:$input, KB_FloatTensor:$weight,
                       DefaultValuedAttr<F32Attr, "1.0e-5f">:$eps);
  let results = (outs KB_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` type($input) `,` type($weight)
    `` custom<PlacedLike>(ref(type($input)), type($result))
  }];
  let hasVerifier = 1;
}

def KB_LayerNormOp
    : KB_Op<"layer_norm", [Pure, KB_ResultTypeOfFirstOperand,
        DeclareOpInterfaceMethods<KB_TPPartitionOpInterface>]> {
  let summary = "Layer norm over the last axis, with weight and bias";
  let description = [{
    `result = (input − mean) / sqrt(var + eps) · weight + bias` over the last
    axis, with the biased variance (`torch.nn.LayerNorm`, as GPT-2 uses it).
    `input` has any static shape `[..., H]`, `weight` and `bias` are `[H]`,
    and the result has `input`'s type (or, after an arrow, another placement
    of it, as `kb.rms_norm`). Mean and variance accumulate in f32
    (two passes: the variance sums squared deviations from the mean, which
    does not cancel for rows with a large mean); the result is rounded once
    to the element type. `eps` defaults to 1e-5 and must be positive.

    ```mlir
    %n = kb.layer_norm %x, %w, %b
        : tensor<16x768xf16>, tensor<768xf16>, tensor<768xf16>
    ```
  }];
  let arguments = (ins KB_FloatTensor:$input, KB_FloatTensor:$weight,
                       KB_FloatTensor:$bias,
                       DefaultValuedAttr<F32Attr, "1.0e-5f">:$eps);
  let results = (outs KB_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias attr-dict `:` type($input) `,` type($weight)
    `,` type($bias) `` custom<PlacedLike>(ref(type($input)), type($result))
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Rotary position embedding.
//===----------------------------------------------------------------------===//

def KB_RoPEOp : KB_Op<"rope", [Pure, AllTypesMatch<["input", "result"]>,
        KB_ResultTypeOfFirstOperand,
    DeclareOpInterfaceMethods<KB_TPPartitionOpInterface>]> {
  let summary = "Rotary position embedding, Hugging Face's rotate_half form";
  let description = [{
    Rotates each head of each row by its token's position. `input` is
    `[S, nHeads·head_dim]` (heads side by side, as a q or k projection
    produces them); row `s` is the token at position `position_offset + s`.
    For each head `v` of `head_dim` (even) elements:

    ```
    inv_freq[i] = theta^(−2i / head_dim),  i < head_dim / 2
    angle[i]    = position · inv_freq[i]   (cos, sin repeated over both halves)
    rot(v)      = v·cos + rotate_half(v)·sin
    rotate_half(v) = concat(−v[head_dim/2:], v[:head_dim/2])
    ```

    Angles, cosines and sines are computed in f64 (f32 angles lose about
    `position` ulps), the rotation in f32, and the result is rounded once to
    the element type. `theta` defaults to 10000. Prefill rotates positions
    `0..S−1` (`position_offset` 0, the default, elided); decode rotates its
    one new token at position P with `offset P`.

    ```mlir
    %q = kb.rope %x head_dim 128 : tensor<16x4096xf16>
    %k = kb.rope %y head_dim 128 offset 64 {theta = 5.0e+05 : f64} : tensor<1x1024xf16>
    ```
  }];
  let arguments = (ins KB_FloatTensor:$input, I64Attr:$head_dim,
                       DefaultValuedAttr<I64Attr, "0">:$position_offset,
                       DefaultValuedAttr<F64Attr, "10000.0">:$theta);
  let results = (outs KB_FloatTensor:$result);
  let assemblyFormat = [{
    $input `head_dim` $head_dim (`offset` $position_offset^)? attr-dict `:`
    type($input)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The number of heads the rows hold: columns / head_dim.
    int64_t getNumHeads() {
      return ::llvm::cast<::mlir::RankedTensorType>(getInput().getType())
                 .getDimSize(1) / getHeadDim();
    }
  }];
}

//===----------------------------------------------------------------------===//
// Causal attention core.
//===----------------------------------------------------------------------===//

def KB_AttentionOp : KB_Op<"attention", [Pure,
    DeclareOpInterfaceMethods<KB_TPPartitionOpInterface>]> {
  let summary = "Causal scaled-dot-product attention, with grouped KV heads";
  let description = [{
    Per query head `h` (of `num_heads`), with its KV head
    `g = h / (num_heads / num_kv_heads)`:

    ```
    result_h = softmax(q_h · k_gᵀ / sqrt(head_dim) + mask) · v_g
    ```

    `q` is `[S, num_heads·head_dim]`, `k` and `v` are
    `[T, num_kv_heads·head_dim]` and the result is `[S, num_heads·head_dim]`
    (the heads concatenated, ready for `W_o`); `head_dim` is q's columns over
    `num_heads`. `num_kv_heads` must divide `num_heads` (grouped-query
    attention; equal counts are multi-head attention). The mask is causal
    with the queries at the last S of the T positions: query `i` sits at
    position `T − S + i` and sees keys `0..T − S + i`. One op therefore
    serves prefill (`T = S`) and decode (`S = 1`, `T = P + 1`: the cache and
    the new token), and `T ≥ S` is required. The softmax subtracts the row
    maximum; scores, softmax and both products are f32, and the result is
    rounded once to the element type.

    ```mlir
    // Prefill, Llama-3-8B heads (32 query heads over 8 KV heads).
    %o = kb.attention %q, %k, %v heads 32 kv_heads 8
        : (tensor<16x4096xf16>, tensor<16x1024xf16>, tensor<16x1024xf16>)
        -> tensor<16x4096xf16>
    // Decode of the token at position 64.
    %d = kb.attention %q1, %k65, %v65 heads 32 kv_heads 8
        : (tensor<1x4096xf16>, tensor<65x1024xf16>, tensor<65x1024xf16>)
        -> tensor<1x4096xf16>
    ```
  }];
  let arguments = (ins KB_FloatTensor:$q, KB_FloatTensor:$k,
                       KB_FloatTensor:$v, I64Attr:$num_heads,
                       I64Attr:$num_kv_heads);
  let results = (outs KB_FloatTensor:$result);
  let assemblyFormat = [{
    $q `,` $k `,` $v `heads` $num_heads `kv_heads` $num_kv_heads attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Columns of q per head.
    int64_t getHeadDim() {
      return ::llvm::cast<::mlir::RankedTensorType>(getQ().getType())
                 .getDimSize(1) / getNumHeads();
    }
  }];
}

//===----------------------------------------------------------------------===//
// KV cache.
//===----------------------------------------------------------------------===//

def KB_KVAppendOp : KB_Op<"kv_append", [Pure,
    DeclareOpInterfaceMethods<KB_TPPartitionOpInterface>]> {
  let summary = "Append new key or value rows to a KV cache";
  let description = [{
    `result = concat(cache, new, axis 0)`: the cache `[P, C]` of the P
    earlier tokens' rotated keys (or values) followed by the new tokens'
    rows `[N, C]`, giving `[P + N, C]`; all three share the element type.
    Decode appends its one token's k and v rows before `kb.attention`.

    ```mlir
    %k65 = kb.kv_append %k_cache, %k_new
        : tensor<64x1024xf16>, tensor<1x1024xf16> -> tensor<65x1024xf16>
    ```
  }];
  let arguments = (ins KB_FloatTensor:$cache, KB_FloatTensor:$new_rows);
  let results = (outs KB_FloatTensor:$result);
  let assemblyFormat = [{
    $cache `,` $new_rows attr-dict `:` type($cache) `,` type($new_rows) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

#endif // KB_DIALECT_KB_IR_KBTRANSFORMEROPS_TD
