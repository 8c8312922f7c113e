#!/usr/bin/env python3
"""include_graph.py SOURCE_DIR: the folders form a stack, no cycle.

Reads every `#include "..."` of the tracked .c and .h files, maps each
header to the top-level folder that holds it (proto's generated
trim.pb-c.h belongs to proto) and fails, printing the file:line behind each
edge, when folders include each other in a cycle, when a folder includes
one above it in the stack (the order of add_subdirectory in the top
CMakeLists.txt, bottom first; README, "Layers"), when a file includes
another folder's *_internal.h, or when an included header is nowhere.
"""
import os
import re
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def tracked(root):
    """The .c and .h files under root: git's list, else a walk."""
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "*.c", "*.h"],
                             capture_output=True, text=True, check=True)
        files = out.stdout.split()
        if files:
            return files
    except (OSError, subprocess.CalledProcessError):
        pass
    files = []
    for d, subdirs, names in os.walk(root):
        subdirs[:] = [s for s in subdirs if s != "build" and s[0] != "."]
        files += [os.path.relpath(os.path.join(d, n), root)
                  for n in names if n.endswith((".c", ".h"))]
    return files


def main(root):
    files = tracked(root)
    owner = {"trim.pb-c.h": "proto/trim.pb-c.h"}  # generated at build time
    problems = []
    for f in files:
        if f.endswith(".h"):
            name = os.path.basename(f)
            if name in owner:
                problems.append(f"{f}: header name also used by {owner[name]}")
            owner[name] = f

    edges = {}  # (from folder, to folder) -> first "file:line: #include"
    for f in sorted(files):
        with open(os.path.join(root, f), encoding="utf-8") as src:
            for n, line in enumerate(src, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                where = f"{f}:{n}: #include \"{m.group(1)}\""
                header = owner.get(os.path.basename(m.group(1)))
                if header is None:
                    problems.append(f"{where}: no folder holds this header")
                    continue
                if (header.endswith("_internal.h")
                        and os.path.dirname(header) != os.path.dirname(f)):
                    problems.append(f"{where}: private to "
                                    f"{os.path.dirname(header)}/")
                a, b = f.split("/")[0], header.split("/")[0]
                if a != b:
                    edges.setdefault((a, b), where)

    with open(os.path.join(root, "CMakeLists.txt"), encoding="utf-8") as f:
        stack = re.findall(r"^\s*add_subdirectory\((\w+)\)", f.read(), re.M)
    for (a, b), where in sorted(edges.items()):
        if a not in stack or b not in stack:
            problems.append(f"{where}: {a if a not in stack else b}/ is not "
                            "in CMakeLists.txt's add_subdirectory list")
        elif stack.index(a) < stack.index(b):
            problems.append(f"{where}: {a}/ includes {b}/, above it")

    graph = {}
    for a, b in sorted(edges):
        graph.setdefault(a, []).append(b)
        graph.setdefault(b, [])

    # Depth-first search; an edge back to a folder on the path closes a
    # cycle.
    state, path = {}, []

    def visit(a):
        state[a] = "open"
        path.append(a)
        for b in graph[a]:
            if state.get(b) == "open":
                cycle = path[path.index(b):] + [b]
                problems.append("folder cycle " + " -> ".join(cycle) + "".join(
                    f"\n    {x} -> {y}: {edges[(x, y)]}"
                    for x, y in zip(cycle, cycle[1:])))
            elif b not in state:
                visit(b)
        path.pop()
        state[a] = "done"

    for a in sorted(graph):
        if a not in state:
            visit(a)

    for p in problems:
        print("include_graph: " + p)
    if problems:
        return 1
    print(f"include_graph: {len(files)} files, {len(edges)} folder edges, "
          "no cycle, none up the stack " + " < ".join(stack))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: include_graph.py SOURCE_DIR")
    sys.exit(main(sys.argv[1]))
