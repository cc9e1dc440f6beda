"""Compares two kb-run reports of one program, compiled with and without
kb-overlap-collectives: both passed --check, the overlapped one hides ring time
behind compute and finishes sooner, and both send the same link bytes (cutting
the ring into row bands moves the same data)."""
import json
import sys

on, off = (json.load(open(p)) for p in sys.argv[1:3])
for r in (on, off):
    assert r["check"]["passed"] is True, r["check"]
ring_on = sum(s["collective_s"] for s in on["sips"])
hidden_on = sum(s["collective_hidden_s"] for s in on["sips"])
ring_off = sum(s["collective_s"] for s in off["sips"])
hidden_off = sum(s["collective_hidden_s"] for s in off["sips"])
assert ring_on > 0 and ring_off > 0
assert 0 <= hidden_on <= ring_on * (1 + 1e-9) and 0 <= hidden_off <= ring_off * (1 + 1e-9)
assert hidden_on > hidden_off, (hidden_on, hidden_off)
assert on["device_time_s"] < off["device_time_s"], (on["device_time_s"], off["device_time_s"])
sent_on = sum(s["link_bytes_sent"] for s in on["sips"])
sent_off = sum(s["link_bytes_sent"] for s in off["sips"])
assert sent_on == sent_off, (sent_on, sent_off)
print(f"overlap: hidden {hidden_on / ring_on:.2f} of the ring (was {hidden_off / ring_off:.2f}), "
      f"device time {on['device_time_s'] / off['device_time_s']:.2f} of the unchunked one")
