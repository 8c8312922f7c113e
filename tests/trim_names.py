"""What trim itself says it accepts and exports, for the deployment tests
(compose_config.py, dashboard_metrics.py, kube_config.py): the flags of a
command and their TRIM_* twins, asked of the built binary, and the metric
names registered in the C sources or listed in docs/metrics.md."""
import functools
import os
import re
import subprocess

# Folders whose C files register metrics (tests and benches do not count).
SOURCE_DIRS = ("cli", "common", "coordinator", "gateway", "router", "sim",
               "storage", "workers")


@functools.lru_cache(maxsize=None)
def flags(trim, command):
    """{"--flag": "TRIM_FLAG"} of `trim COMMAND`, read from its --help.
    Raises ValueError when the command does not exist."""
    out = subprocess.run([trim, command, "--help"], capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        raise ValueError(f"trim {command} --help: exit {out.returncode}: "
                         f"{out.stderr.strip()}")
    found = {}
    for line in out.stdout.splitlines():
        m = re.match(r"\s+(--[a-z0-9-]+)\b.*\[(TRIM_[A-Z0-9_]+)\]\s*$", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def metric_names(repo):
    """(names, histograms): every trim_* metric name trim registers, and
    those of them that are histograms (whose series add _bucket, _sum and
    _count).  A name counts when it is a C string literal in the sources or
    is in docs/metrics.md; a histogram when the literal follows
    prom_histogram( or its docs/metrics.md line says histogram."""
    names, histograms = set(), set()
    literal = re.compile(r'"(trim_[a-z0-9_]+)"')
    for top in SOURCE_DIRS:
        for dirpath, _, files in os.walk(os.path.join(repo, top)):
            for f in files:
                if not f.endswith(".c"):
                    continue
                with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                    text = fh.read()
                for m in literal.finditer(text):
                    names.add(m.group(1))
                for m in re.finditer(r"prom_histogram\s*\(", text):
                    first = literal.search(text, m.end(), m.end() + 400)
                    if first:
                        histograms.add(first.group(1))
    doc = os.path.join(repo, "docs", "metrics.md")
    if os.path.exists(doc):
        with open(doc, encoding="utf-8") as fh:
            for line in fh:
                found = re.findall(r"\b(trim_[a-z0-9_]+)", line)
                names.update(found)
                if "histogram" in line and found:
                    histograms.add(found[0])
    return names, histograms


def unknown_metrics(used, names, histograms):
    """The names in used that trim does not export: a histogram's _bucket,
    _sum and _count series count as the histogram."""
    bad = set()
    for n in used:
        if n in names:
            continue
        stem = re.sub(r"_(bucket|sum|count)$", "", n)
        if stem != n and stem in histograms:
            continue
        bad.add(n)
    return bad
