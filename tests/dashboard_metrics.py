#!/usr/bin/env python3
"""docker/grafana/trim-dashboard.json asks only for metrics trim exports.

Every PromQL expression in the dashboard (each panel target's `expr`) names
only trim_* metrics that the C sources register (trim_names.py: the name
argument of prom_counter, prom_gauge, prom_histogram; a histogram's
_bucket, _sum and _count series count as the histogram), and
the dashboard covers what it promises: steps, regenerations, the strong
share, latency by pool, queue depth and errors.  With promtool (Debian's
prometheus package) every expression is also parsed as PromQL.
Usage: dashboard_metrics.py REPO
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

import trim_names

# One metric per promise of the dashboard (issue 12).
MUST_SHOW = ("trim_steps_total", "trim_steps_routed_total",
             "trim_steps_regenerated_total",
             "trim_strong_token_share_ratio",
             "trim_pool_request_duration_seconds_bucket",
             "trim_pool_queued_requests", "trim_pool_outstanding_requests",
             "trim_backend_errors_total")


def exprs(node):
    """Every "expr" string anywhere in the dashboard."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "expr" and isinstance(v, str):
                yield v
            else:
                yield from exprs(v)
    elif isinstance(node, list):
        for v in node:
            yield from exprs(v)


def promql_errors(found):
    """promtool's complaints about the expressions as PromQL, or None when
    promtool is not installed.  Grafana's $__rate_interval becomes 1m."""
    promtool = shutil.which("promtool")
    if promtool is None:
        return None
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:expr{i}",
         "expr": e.replace("$__rate_interval", "1m")}
        for i, e in enumerate(found)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        yaml.safe_dump(rules, f)
        f.flush()
        out = subprocess.run([promtool, "check", "rules", f.name],
                             capture_output=True, text=True, check=False)
    return None if out.returncode == 0 else out.stdout + out.stderr


def main():
    repo = sys.argv[1]
    path = os.path.join(repo, "docker", "grafana", "trim-dashboard.json")
    with open(path, encoding="utf-8") as f:
        dashboard = json.load(f)
    found = list(exprs(dashboard))
    used = set()
    for e in found:
        used.update(re.findall(r"\btrim_[a-zA-Z0-9_:]+", e))
    names, histograms = trim_names.metric_names(repo)
    failures = []
    if not found:
        failures.append("no PromQL expression found")
    bad = trim_names.unknown_metrics(used, names, histograms)
    if bad:
        failures.append("names trim does not export: " +
                        ", ".join(sorted(bad)))
    missing = [m for m in MUST_SHOW if m not in used]
    if missing:
        failures.append("not shown: " + ", ".join(missing))
    errors = promql_errors(found)
    if errors:
        failures.append("promtool: " + errors)
    if failures:
        sys.exit(f"{path}: " + "; ".join(failures))
    print(f"dashboard: {len(found)} expressions, {len(used)} trim metrics, "
          f"all exported" +
          ("" if errors is not None or shutil.which("promtool") is None
           else ", valid PromQL"))
    print("1 passed, 0 failed")


main()
