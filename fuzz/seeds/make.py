#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora, fuzz/seeds/<target>/, from the test fixtures.

- range: every RANGE-looking string in src/range/, README.md and tests/*.rs;
- headers: the Content-Range values, header lines, HTTP dates, URLs and sizes those files use;
- plan: the planner's unit-test cases (src/plan/mod.rs, `plans`), in the plan target's
  byte format (fuzz/fuzz_targets/plan.rs, `Input::decode`);
- zip: the archives in tests/data/ and examples/.

Run from anywhere: `python3 fuzz/seeds/make.py`. It replaces the four directories.
"""

import glob
import hashlib
import os
import re
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def texts():
    paths = ["README.md"] + sorted(glob.glob(os.path.join(ROOT, "src/**/*.rs"), recursive=True))
    paths += sorted(glob.glob(os.path.join(ROOT, "tests/**/*.rs"), recursive=True))
    for path in paths:
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            yield f.read()


def write(target, seeds):
    out = os.path.join(HERE, target)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for seed in sorted(set(seeds)):
        name = hashlib.sha1(seed).hexdigest()[:16]
        with open(os.path.join(out, name), "wb") as f:
            f.write(seed)
    return len(set(seeds))


def range_seeds(all_text):
    bound = r"-?(?:0[xX][0-9A-Fa-f]+|[0-9]+)(?:[kKmMgGtT]i?)?B?"
    pattern = re.compile(r"[\"`']((?:%s)?[:+](?:%s)?)[\"`']" % (bound, bound))
    seeds = {m.group(1) for m in pattern.finditer(all_text)}
    # The parser's error cases (src/range/expr.rs, `rejects_bad_ranges`).
    seeds |= {"", " 1:2", "1:2\n", "abc", "abc:", "1:xyz", "1.5M:", "0-99", "0x10-0x1f",
              "100-", "0-99,200-299", "5", "-5", "1:2:3", "1+-5", "++", "+5", "5+", "1:2+3",
              "TiB:", "--5:", "-:", "18446744073709551615+1", "99999999999999999999:"}
    return [s.encode() for s in seeds]


def header_seeds(all_text):
    patterns = [
        r"bytes (?:[0-9]+-[0-9]+|\*)/(?:[0-9]+|\*)",
        r"[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT",
        r"\"([A-Z][A-Za-z-]+: [^\"{}\\]{0,60})\"",
        r"https?://[^\s\"'`<>{}\\)]+",
        r"\b[0-9]+(?:[kKmMgGtT]i?)?B?\b",
    ]
    seeds = set()
    for pattern in patterns:
        for m in re.finditer(pattern, all_text):
            seeds.add(m.group(m.lastindex or 0))
    # A redirect: base URL, newline, Location.
    seeds |= {"http://h/a/b?q\n../c", "https://u:pw@h:8443/p\n//other/x", "http://h\n?x=1#f"}
    sizes = sorted(s for s in seeds if re.fullmatch(r"[0-9]+", s))
    seeds -= set(sizes[200:])  # enough plain numbers
    return [s.encode() for s in seeds]


MAX = 2**64 - 1


def plan_seed(ranges, gap, max_buffer, coalesce=True, first=None):
    """first: None, "whole", ("range", i), ("requested", limit) or (a, b)."""
    kind, a, b = 0, 0, 0
    if first == "whole":
        kind = 1
    elif isinstance(first, tuple) and first[0] == "range":
        kind, a = 2, first[1]
    elif isinstance(first, tuple) and first[0] == "requested":
        kind, a = 3, first[1]
    elif isinstance(first, tuple):
        kind, (a, b) = 4, first
    flags = int(coalesce) | (kind << 3)
    out = struct.pack("<BQQQII", flags, 0, gap, max_buffer, a, b)
    for start, end in ranges:
        out += struct.pack("<BHH", 0, start, end)
    return out


def plan_seeds():
    # src/plan/mod.rs, `plans`: (ranges, gap, max_buffer, coalesce, first).
    cases = [
        ([(0, 10)], 0, MAX, True, None),
        ([(0, 10), (20, 30)], 0, MAX, True, None),
        ([(0, 10), (5, 15)], 0, MAX, True, None),
        ([(0, 10), (10, 20)], 0, MAX, True, None),
        ([(100, 200), (0, 50)], 0, MAX, True, None),
        ([(50, 60), (0, 10)], 100, MAX, True, None),
        ([(0, 10), (50, 60), (0, 10)], 0, MAX, True, None),
        ([(0, 10), (15, 20)], 10, MAX, True, None),
        ([(0, 10), (15, 20)], 5, MAX, True, None),
        ([(0, 10), (5, 15), (10, 20)], 0, MAX, False, None),
        ([(5, 10), (0, 5)], 0, MAX, False, (0, 100)),
        ([(5, 10)], 0, MAX, False, (50, 60)),
        ([(0, 10), (50, 60), (0, 10)], 0, 0, True, None),
        ([(0, 10), (50, 60), (0, 10)], 0, 4, True, None),
        ([(50, 60), (0, 10), (20, 30)], 100, 12, True, None),
        ([(0, 10), (100, 110), (20, 30), (40, 50)], 20, 10, True, None),
        ([(0, 10), (100, 110), (20, 30), (40, 50)], 20, 5, True, None),
        ([(900, 1000)], 0, MAX, True, ("range", 0)),
        ([(0, 10), (900, 1000)], 0, MAX, True, ("range", 1)),
        ([(500, 600), (0, 100), (700, 800)], MAX, MAX, True, "whole"),
        ([(500, 600), (0, 100), (700, 800)], MAX, 50, True, "whole"),
        ([(5, 5), (0, 10), (20, 20)], 0, MAX, True, None),
        ([(5, 5)], 0, MAX, True, None),
        ([], 0, MAX, True, (0, 10)),
        ([(0, 100), (50, 150), (400, 500)], 16, MAX, True, ("requested", 0)),
        ([(0, 100), (50, 150), (400, 500)], 16, 1000, True, ("requested", 64)),
    ]
    return [plan_seed(*case) for case in cases]


def zip_seeds():
    seeds = []
    for path in sorted(glob.glob(os.path.join(ROOT, "tests/data/*.zip"))) + [
        os.path.join(ROOT, "examples/sample.zip")
    ]:
        with open(path, "rb") as f:
            seeds.append(f.read())
    return seeds


def main():
    all_text = "\n".join(texts())
    for target, seeds in [
        ("range", range_seeds(all_text)),
        ("headers", header_seeds(all_text)),
        ("plan", plan_seeds()),
        ("zip", zip_seeds()),
    ]:
        print(f"{target}: {write(target, seeds)} seeds")


if __name__ == "__main__":
    main()
