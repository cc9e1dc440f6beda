"""A Llama-2-7B decoder layer (hidden 4096, 32 heads of 128, ffn 11008, f16) under
TP = 8, in prefill over 16 tokens and in decode of token 16 with the prefill's KV
cache, written with kb's Megatron-style layers.

Both compile down to the device program and run with kb-run --check against the
unsharded program, reporting their device time. Each is also compared with the float64
reference (kb.reference), and decode of token 16 with row 16 of a prefill over 17
tokens. Exits 1 if an error exceeds the f16 tolerance.

    PYTHONPATH=python /usr/bin/python3 python/examples/llama2_7b_layer.py [--device small]
"""
import argparse
import sys

import numpy as np

import kb
from kb.parallel_state import initialize_model_parallel

TOKENS, HIDDEN, HEADS, FFN, TP = 16, 4096, 32, 11008, 8
TOLERANCE = 1e-2  # f16, relative to the largest magnitude (kb-run --check's too)


def error(got, expected):
    expected = np.asarray(expected, np.float64)
    return float(np.max(np.abs(np.asarray(got, np.float64) - expected)) /
                 np.max(np.abs(expected)))


def program(layer, tokens, cache=0):
    """Prefill of `tokens` tokens returning (y, k, v), or with a cache of `cache`
    tokens a decode step returning (y, k_new, v_new)."""
    with kb.Program("llama2_7b_decode" if cache else "llama2_7b_layer") as p:
        x = p.input("x", (tokens, HIDDEN), dtype="f16")
        if cache:
            k_cache = p.input("k_cache", (cache, HIDDEN), dtype="f16", after_parameters=True)
            v_cache = p.input("v_cache", (cache, HIDDEN), dtype="f16", after_parameters=True)
            p.output(*layer(x, k_cache, v_cache))
        else:
            p.output(*layer(x, return_kv=True))
    return p


def main():
    parser = argparse.ArgumentParser(description="A Llama-2-7B layer in prefill and decode.")
    parser.add_argument("--device", default=None,
                        help="a built-in device (ahbm, small); default: kb's default, ahbm")
    name = parser.parse_args().device
    device = {"preset": name} if name else None
    initialize_model_parallel(tensor_model_parallel_size=TP)
    layer = kb.LlamaDecoderLayer(HIDDEN, HEADS, HEADS, FFN, dtype="f16")
    tokens = np.random.default_rng(0).uniform(-1, 1, (TOKENS + 1, HIDDEN)).astype(np.float16)

    prefill = program(layer, TOKENS)
    prefilled = prefill.run(tokens[:TOKENS], check=True, device=device)
    y, k_cache, v_cache = prefilled.outputs
    expected = kb.reference.llama_decoder_layer(tokens[:TOKENS], *layer.weights,
                                                num_heads=HEADS, num_kv_heads=HEADS)
    prefill_error = error(y, expected)
    print(f"Llama-2-7B layer, TP {TP}, prefill of {TOKENS} tokens: device time "
          f"{prefilled.report['device_time_s'] * 1e6:.2f} us; check passed; max error vs "
          f"the float64 reference {prefill_error:.2e}")

    decode = program(layer, 1, cache=TOKENS)
    result = decode.run([tokens[TOKENS:], k_cache, v_cache], check=True, device=device)
    y_new, k_new, v_new = result.outputs
    expected = kb.reference.llama_decoder_layer_decode(
        tokens[TOKENS:], *layer.weights, k_cache, v_cache, num_heads=HEADS,
        num_kv_heads=HEADS)
    decode_error = max(error(a, b) for a, b in zip(result.outputs, expected))
    print(f"decode of token {TOKENS} against the prefill's cache: device time "
          f"{result.report['device_time_s'] * 1e6:.2f} us; check passed; max error vs the "
          f"float64 reference {decode_error:.2e}")

    longer = program(layer, TOKENS + 1).run(tokens, check=True, device=device)
    row_error = error(y_new, longer.outputs[0][TOKENS:])
    print(f"decode of token {TOKENS} vs row {TOKENS} of a prefill over {TOKENS + 1} "
          f"tokens: max error {row_error:.2e} (tolerance {TOLERANCE})")
    print(result.summary.rstrip())
    worst = max(prefill_error, decode_error, row_error)
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
