"""Compares kb-place's estimate of a function (its `remarks=true` total) with the
device time kb-run simulated for the same placed program.

    estimate_vs_device.py REMARKS REPORT.json TOLERANCE

Prints `estimate X us, device Y us, ratio R` and `within TOLERANCE` when
|estimate / device - 1| <= TOLERANCE; exits 1 otherwise, naming both numbers."""
import json
import re
import sys

remarks, report, tolerance = sys.argv[1], sys.argv[2], float(sys.argv[3])
totals = re.findall(r"kb-place: @\S+ is estimated at ([0-9.]+) us on the device",
                    open(remarks).read())
if len(totals) != 1:
    sys.exit(f"expected one function estimate in {remarks}, found {len(totals)}")
estimate = float(totals[0])
device = json.load(open(report))["device_time_s"] * 1e6
ratio = estimate / device
print(f"estimate {estimate:.3f} us, device {device:.3f} us, ratio {ratio:.3f}")
if abs(ratio - 1) > tolerance:
    sys.exit(f"the estimate {estimate:.3f} us is off the device time {device:.3f} us "
             f"by more than {tolerance:.0%}")
print(f"within {tolerance}")
