"""A Llama-3-8B decoder layer (hidden 4096, 32 query heads of 128 sharing 8 KV heads,
ffn 14336, RoPE theta 500000, f16) under TP = 16: fewer KV heads than ranks, so each
KV head is replicated over 2 ranks (Megatron's GQA partition: rank r holds query heads
2r, 2r + 1 and KV head r / 2, its columns of wk, wv and of the KV cache).

Prefill of 16 tokens, then decode of token 16 with the prefill's KV cache; both
compile down to the device program and run with kb-run --check against the unsharded
program, reporting their device time, and are compared with the float64 reference
(kb.reference). Exits 1 if an error exceeds the f16 tolerance.

    PYTHONPATH=python /usr/bin/python3 python/examples/llama3_8b_gqa_tp16.py
"""
import sys

import numpy as np

import kb
from kb.parallel_state import initialize_model_parallel

TOKENS, HIDDEN, HEADS, KV_HEADS, FFN, TP, THETA = 16, 4096, 32, 8, 14336, 16, 500000.0
HEAD_DIM = HIDDEN // HEADS
TOLERANCE = 1e-2  # f16, relative to the largest magnitude (kb-run --check's too)


def error(got, expected):
    expected = np.asarray(expected, np.float64)
    return float(np.max(np.abs(np.asarray(got, np.float64) - expected)) /
                 np.max(np.abs(expected)))


def program(layer, tokens, cache=0):
    """Prefill of `tokens` tokens returning (y, k, v), or with a cache of `cache`
    tokens a decode step returning (y, k_new, v_new)."""
    kv_cols = KV_HEADS * HEAD_DIM
    with kb.Program("llama3_8b_decode" if cache else "llama3_8b_layer") as p:
        x = p.input("x", (tokens, HIDDEN), dtype="f16")
        if cache:
            k_cache = p.input("k_cache", (cache, kv_cols), dtype="f16", after_parameters=True)
            v_cache = p.input("v_cache", (cache, kv_cols), dtype="f16", after_parameters=True)
            p.output(*layer(x, k_cache, v_cache))
        else:
            p.output(*layer(x, return_kv=True))
    return p


def main():
    initialize_model_parallel(tensor_model_parallel_size=TP)
    layer = kb.LlamaDecoderLayer(HIDDEN, HEADS, KV_HEADS, FFN, theta=THETA, dtype="f16")
    tokens = np.random.default_rng(0).uniform(-1, 1, (TOKENS + 1, HIDDEN)).astype(np.float16)
    heads = dict(num_heads=HEADS, num_kv_heads=KV_HEADS, theta=THETA)

    prefilled = program(layer, TOKENS).run(tokens[:TOKENS], check=True)
    y, k_cache, v_cache = prefilled.outputs
    expected = kb.reference.llama_decoder_layer(tokens[:TOKENS], *layer.weights, **heads)
    prefill_error = error(y, expected)
    print(f"Llama-3-8B layer, TP {TP} ({KV_HEADS} KV heads, each on {TP // KV_HEADS} "
          f"ranks), prefill of {TOKENS} tokens: device time "
          f"{prefilled.report['device_time_s'] * 1e6:.2f} us; check passed; max error vs "
          f"the float64 reference {prefill_error:.2e}")

    result = program(layer, 1, cache=TOKENS).run([tokens[TOKENS:], k_cache, v_cache],
                                                  check=True)
    expected = kb.reference.llama_decoder_layer_decode(tokens[TOKENS:], *layer.weights,
                                                       k_cache, v_cache, **heads)
    decode_error = max(error(a, b) for a, b in zip(result.outputs, expected))
    print(f"decode of token {TOKENS} against the prefill's cache: device time "
          f"{result.report['device_time_s'] * 1e6:.2f} us; check passed; max error of y, "
          f"k_new, v_new vs the float64 reference {decode_error:.2e}")
    return 0 if max(prefill_error, decode_error) <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
