"""What trim itself says it accepts and exports, for the deployment tests
(compose_config.py, dashboard_metrics.py, kube_config.py): the flags of a
command and their TRIM_* twins, asked of the built binary, and the metric
names the C sources register (the name argument of prom_counter,
prom_gauge and prom_histogram)."""
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


# A registration: prom_counter(REGISTRY, "trim_name", ...), and the same for
# prom_gauge and prom_histogram.
CALL = re.compile(r"\bprom_(counter|gauge|histogram)\s*\(")
NAME = re.compile(r'\s*"(trim_[a-z0-9_]+)"')


def registrations(text):
    """(kind, name) of each prom_counter/prom_gauge/prom_histogram call in C
    text whose name argument (the second) is a trim_* string literal."""
    for m in CALL.finditer(text):
        i, depth = m.end(), 0
        while i < len(text):  # to the end of the first argument
            if text[i] in "([":
                depth += 1
            elif text[i] in ")]":
                if depth == 0:
                    break
                depth -= 1
            elif text[i] == "," and depth == 0:
                break
            i += 1
        name = NAME.match(text, i + 1) if text[i:i + 1] == "," else None
        if name:
            yield m.group(1), name.group(1)


def metric_names(repo):
    """(names, histograms): every trim_* metric name trim registers, and
    those of them that are histograms (whose series add _bucket, _sum and
    _count): the name argument of each prom_counter, prom_gauge and
    prom_histogram call in the C sources.  Nothing else counts (not other
    literals, not the docs)."""
    names, histograms = set(), set()
    for top in SOURCE_DIRS:
        for dirpath, _, files in os.walk(os.path.join(repo, top)):
            for f in files:
                if not f.endswith(".c"):
                    continue
                with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                    text = fh.read()
                for kind, name in registrations(text):
                    names.add(name)
                    if kind == "histogram":
                        histograms.add(name)
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
