#!/usr/bin/env python3
"""Draw the HS256 request costs of one criterion run as an SVG bar chart.

    python3 scripts/bench-chart.py benches/target/criterion docs/benchmarks.svg

Reads criterion's median estimates (`<dir>/<group>/<case>/new/estimates.json`) and draws, per
request through an axum router: the bare router, ours (token seen before, never seen, renewed,
refused), jwt-authorizer on its own router (axum 0.7), and the HMAC floor. Each bar is the time
above its bare router, so the two axum versions compare fairly.
"""
import json
import pathlib
import sys
from html import escape

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "benches/target/criterion")
out = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else "docs/benchmarks.svg")


def median(group, case):
    for estimates in root.glob(f"{group}/*/new/estimates.json"):
        bench = json.loads((estimates.parent / "benchmark.json").read_text())
        if bench["function_id"] == case:
            return json.loads(estimates.read_text())["median"]["point_estimate"]
    sys.exit(f"no criterion result for {group}/{case} under {root}")


bare8 = median("router", "axum 0.8 bare")
bare7 = median("router", "axum 0.7 bare")
bars = [
    ("ours: HS256 token seen before", median("router", "ours HS256 accept (repeat token, cached)") - bare8, "#2f6fd0"),
    ("ours: HS256 token never seen", median("router", "ours HS256 accept (new token, no cache)") - bare8, "#2f6fd0"),
    ("ours: HS256 renewal signed", median("router", "ours HS256 renew (cached)") - bare8, "#2f6fd0"),
    ("ours: HS256 bad signature", median("router", "ours HS256 reject (bad signature)") - bare8, "#2f6fd0"),
    ("jwt-authorizer 0.15: HS256 token", median("router", "jwt-authorizer 0.15 HS256 accept") - bare7, "#c0392b"),
    ("floor: one HMAC-SHA256", median("floor", "HMAC-SHA256 RustCrypto (pre-keyed)"), "#7f8c8d"),
]

label_width, bar_width, row, top = 250, 430, 30, 50
height = top + row * len(bars) + 40
largest = max(ns for _, ns, _ in bars)
parts = [
    f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_width + bar_width + 90}" height="{height}" '
    'font-family="system-ui, sans-serif" font-size="13">',
    '<rect width="100%" height="100%" fill="#fff"/>',
    f'<text x="10" y="22" font-size="15" font-weight="600">Time per request above the bare axum router '
    f"(bare: {bare8 / 1000:.2f} µs)</text>",
    '<text x="10" y="40" fill="#555">median of one criterion run; shorter is better</text>',
]
for i, (label, ns, color) in enumerate(bars):
    y = top + i * row
    width = max(1.0, bar_width * ns / largest)
    value = f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"
    parts.append(f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end">{escape(label)}</text>')
    parts.append(f'<rect x="{label_width}" y="{y + 4}" width="{width:.1f}" height="{row - 10}" fill="{color}"/>')
    parts.append(f'<text x="{label_width + width + 6:.1f}" y="{y + 17}">{value}</text>')
parts.append("</svg>")
out.write_text("\n".join(parts) + "\n")
print(f"wrote {out}: " + ", ".join(f"{label} {ns:.0f} ns" for label, ns, _ in bars))
