#!/usr/bin/env python3
"""Fails when an include under include/minidnn/ runs upward in the folder order or in a circle.

The order (docs/design.md, "Folder tree = architecture"): a header may include headers of its own
folder or of folders before it, never after. Within a folder the headers must not include each
other in a circle. Per-ISA kernel files (*-inl.hpp, compiled once per instruction set by
cpu/for_each_isa.hpp) include nothing and hold no OpenMP pragma. Usage: check_includes.py [include-dir]
"""
import os
import re
import sys

# Folder ranks, lowest first; equal ranks may not include each other.
ORDER = [
    ["core"],
    ["io"],
    ["cpu"],
    ["ops"],
    ["backend"],
    ["layers"],
    ["losses", "optim", "metrics"],
    ["model"],
    ["sequential.hpp"],
    ["distributed"],
    ["datasets", "viz"],
    ["vision", "models"],
    ["fer"],
]
RANK = {name: i for i, group in enumerate(ORDER) for name in group}
INCLUDE = re.compile(r'^\s*#\s*include\s+[<"](minidnn/[^">]+)[">]')


def folder(path):
    return path.split("/")[1]


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "include")
    graph, problems = {}, []
    for dirpath, _, files in os.walk(os.path.join(root, "minidnn")):
        for name in files:
            if not name.endswith(".hpp"):
                continue
            full = os.path.join(dirpath, name)
            header = os.path.relpath(full, root).replace(os.sep, "/")
            if folder(header) not in RANK:
                problems.append(f"{header}: folder '{folder(header)}' has no place in the order (scripts/check_includes.py)")
                continue
            graph[header] = []
            per_isa = name.endswith("-inl.hpp")
            with open(full, encoding="utf-8") as f:
                for number, line in enumerate(f, 1):
                    if per_isa and re.match(r"^\s*#\s*(include|pragma\s+omp)\b", line):
                        problems.append(f"{header}:{number}: a per-ISA kernel file has no #include and no OpenMP (cpu/for_each_isa.hpp)")
                        continue
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    target = m.group(1)
                    graph[header].append(target)
                    if not os.path.exists(os.path.join(root, target)):
                        problems.append(f"{header}:{number}: includes {target}, which does not exist")
                        continue
                    a, b = folder(header), folder(target)
                    if b not in RANK:
                        continue
                    if a != b and RANK[b] >= RANK[a]:
                        problems.append(f"{header}:{number}: includes {target}: '{b}' is not below '{a}' in the folder order")
    # Circles (per-ISA kernel files name their includer through MINIDNN_PER_ISA_FILE, not #include).
    state = {}

    def visit(node, stack):
        state[node] = 1
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                problems.append("circular include: " + " -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt in graph and nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"include order: {len(graph)} headers, every include runs downward, no circle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
