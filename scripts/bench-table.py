#!/usr/bin/env python3
"""Print criterion's median estimates (target/criterion/**/new/estimates.json) as a table."""
import json, pathlib, sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "benches/target/criterion")
rows = []
for estimates in sorted(root.glob("*/*/new/estimates.json")):
    bench = json.loads((estimates.parent / "benchmark.json").read_text())
    median = json.loads(estimates.read_text())["median"]["point_estimate"]
    rows.append((bench["group_id"], bench["function_id"], median))
unit = lambda ns: f"{ns/1e6:,.3f} ms" if ns >= 1e6 else (f"{ns/1e3:,.2f} µs" if ns >= 1e3 else f"{ns:,.0f} ns")
for group, function, ns in rows:
    print(f"| {group} | {function} | {unit(ns)} |")
