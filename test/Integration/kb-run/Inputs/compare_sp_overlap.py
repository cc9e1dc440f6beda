"""Compares two kb-run reports of one sequence-parallel program, compiled with
and without kb-overlap-collectives: the overlapped one finishes sooner, hides
more of its ring time behind compute, counts each fused gemm's chunked rings as
one reduce_scatter of the whole product, and sends the same link bytes (the
chunks' rings move the same data as the one ring)."""
import json
import sys

on, off = (json.load(open(p)) for p in sys.argv[1:3])
ring_on = sum(s["collective_s"] for s in on["sips"])
hidden_on = sum(s["collective_hidden_s"] for s in on["sips"])
ring_off = sum(s["collective_s"] for s in off["sips"])
hidden_off = sum(s["collective_hidden_s"] for s in off["sips"])
assert ring_on > 0 and ring_off > 0
assert hidden_on > hidden_off, (hidden_on, hidden_off)
assert on["device_time_s"] < off["device_time_s"], (on["device_time_s"], off["device_time_s"])
sent_on = sum(s["link_bytes_sent"] for s in on["sips"])
sent_off = sum(s["link_bytes_sent"] for s in off["sips"])
assert sent_on == sent_off, (sent_on, sent_off)


def collectives(report):
    return sorted((c["op"], c.get("dim", -1), c["bytes"]) for c in report["collectives"])


assert collectives(on) == collectives(off), (collectives(on), collectives(off))
print(f"sp overlap: hidden {hidden_on / ring_on:.2f} of the ring (was {hidden_off / ring_off:.2f}), "
      f"device time {on['device_time_s'] / off['device_time_s']:.3f} of the unfused one, "
      f"{len(on['collectives'])} collectives as without")
