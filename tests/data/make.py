#!/usr/bin/env python3
"""Helpers for make.sh, which recreates every fixture in tests/data/ from scratch.

    make.py inputs DIR      the deterministic input tree the other tools archive
    make.py archives OUT    the archives written by Python's zipfile (py-*.zip)
    make.py zstd OUT        OUT/py-zstd.zip alone (also written by `archives`)
    make.py manifest OUT    OUT/expected.txt: each archive's entries and contents, as read by
                            Python's zipfile (bsdtar or unzip for methods it lacks), every
                            central-directory field checked against 7-Zip's `7z l -slt`

Needs Python 3 (3.11 used) and its standard library; `zstd` and `archives` also need the
backports.zstd package (`pip install backports.zstd`: Python 3.14's zipfile, which writes
Zstandard), and `manifest` needs 7-Zip and bsdtar.
"""

import hashlib
import io
import os
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

# Every timestamp in every fixture.
DATE_TIME = (2024, 5, 17, 13, 45, 30)
PASSWORD = b"secret"


def text(title, lines):
    """A deterministic text file: `lines` numbered lines that mention `title`."""
    out = [f"{title}\n"]
    for i in range(1, lines + 1):
        out.append(f"{i:05d} {title}: the quick brown fox jumps over {i * 7919 % 1000:03d} lazy dogs\n")
    return "".join(out).encode()


def noise(n, seed):
    """`n` pseudo-random bytes (a 32-bit LCG): incompressible, so zip stores them."""
    out = bytearray()
    x = seed
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        out.append(x >> 24)
    return bytes(out)


def inputs(root):
    """The tree that make.sh archives with Info-ZIP, bsdtar and 7-Zip (timestamps are set
    there with touch)."""
    root = Path(root)
    (root / "tree/sub/deeper").mkdir(parents=True)
    (root / "tree/README.txt").write_bytes(text("README", 20))
    (root / "tree/empty.txt").write_bytes(b"")
    (root / "tree/sub/numbers.txt").write_bytes(text("numbers", 120))
    (root / "tree/sub/noise.bin").write_bytes(noise(1024, 1))
    # Piped to `zip - -` (member "-").
    (root / "stdin.txt").write_bytes(text("stdin", 60))
    # Prepended to archives to make self-extracting-style files: 3000 bytes.
    stub = b"#!/bin/sh\n# rangecat test fixture: stands in for a self-extractor stub\nexit 0\n"
    stub += b"#" * (2999 - len(stub)) + b"\n"
    (root / "stub.sh").write_bytes(stub)


def info(name, method=zipfile.ZIP_DEFLATED):
    zi = zipfile.ZipInfo(name, date_time=DATE_TIME)
    zi.compress_type = method
    zi.external_attr = (0o100644 if not name.endswith("/") else 0o40755) << 16
    return zi


class Cp437Info(zipfile.ZipInfo):
    """A ZipInfo whose name is written in CP437 without the UTF-8 flag (bit 11), as DOS-era
    tools did; zipfile itself would write non-ASCII names as UTF-8 with the flag."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("cp437"), self.flag_bits & ~0x800


class Unseekable(io.RawIOBase):
    """A write-only stream without tell/seek, like a pipe: zipfile then writes every entry
    with a data descriptor."""

    def __init__(self):
        self.buf = bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.buf += b
        return len(b)


def zstd(out):
    """py-zstd.zip: Zstandard (method 93), which only Python 3.14's zipfile (here its
    backport) writes among the tools used."""
    from backports.zstd import zipfile as zipfile314

    with zipfile314.ZipFile(Path(out) / "py-zstd.zip", "w") as z:
        for name, data in [("zstd.txt", text("zstd", 30)), ("zstd-noise.bin", noise(600, 4))]:
            zi = zipfile314.ZipInfo(name, date_time=DATE_TIME)
            zi.compress_type = zipfile314.ZIP_ZSTANDARD
            zi.external_attr = 0o100644 << 16
            z.writestr(zi, data)


def archives(out):
    out = Path(out)
    zstd(out)

    with zipfile.ZipFile(out / "py-methods.zip", "w") as z:
        z.writestr(info("dir/", zipfile.ZIP_STORED), b"")
        z.writestr(info("dir/stored.txt", zipfile.ZIP_STORED), text("stored", 30))
        z.writestr(info("dir/deflated.txt", zipfile.ZIP_DEFLATED), text("deflated", 30))
        z.writestr(info("bzip2.txt", zipfile.ZIP_BZIP2), text("bzip2", 30))
        z.writestr(info("lzma.txt", zipfile.ZIP_LZMA), text("lzma", 30))
        z.writestr(info("empty.txt", zipfile.ZIP_DEFLATED), b"")

    sink = Unseekable()
    with zipfile.ZipFile(sink, "w") as z:
        z.writestr(info("streamed/deflated.txt", zipfile.ZIP_DEFLATED), text("unseekable", 40))
        z.writestr(info("streamed/stored.bin", zipfile.ZIP_STORED), noise(512, 2))
        z.writestr(info("streamed/bzip2.txt", zipfile.ZIP_BZIP2), text("unseekable bzip2", 20))
    (out / "py-unseekable.zip").write_bytes(bytes(sink.buf))

    with zipfile.ZipFile(out / "py-empty.zip", "w"):
        pass

    # (A comment holding "PK\x05\x06" would be a sharper test, but unzip and zipfile both
    # take the last signature they find, so no independent reader could vouch for it.)
    with zipfile.ZipFile(out / "py-comment.zip", "w") as z:
        z.writestr(info("a.txt"), text("commented", 10))
        z.writestr(info("b.txt", zipfile.ZIP_STORED), b"b\n")
        z.comment = "archive comment, UTF-8: ünïcødé\n".encode()

    # A maximal comment (65,535 bytes): the end record and comment fill the whole tail that
    # a reader must fetch, so the central directory (over 1 KiB) lies in front of it.
    with zipfile.ZipFile(out / "py-comment-max.zip", "w") as z:
        for i in range(16):
            z.writestr(info(f"max-comment/member-{i:02d}-of-sixteen.txt"), text(f"member {i}", 3))
        z.comment = (b"maximal comment " * 4096)[:65535]

    with zipfile.ZipFile(out / "py-zip64.zip", "w") as z:
        for name, method in [("forced/deflated.txt", zipfile.ZIP_DEFLATED),
                             ("forced/stored.txt", zipfile.ZIP_STORED)]:
            with z.open(info(name, method), "w", force_zip64=True) as f:
                f.write(text(name, 25))

    # Zip64 end records and central-directory extras without gigabytes: zipfile's own limits
    # lowered, so it writes what it would for > 4 GiB offsets and > 65,535 entries.
    saved = zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT
    zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = 0, 1
    try:
        with zipfile.ZipFile(out / "py-zip64-limits.zip", "w") as z:
            z.writestr(info("limits/one.txt"), text("one", 15))
            z.writestr(info("limits/two.bin", zipfile.ZIP_STORED), noise(300, 3))
            z.writestr(info("limits/three.txt"), text("three", 15))
    finally:
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = saved

    with zipfile.ZipFile(out / "py-names.zip", "w") as z:
        cp = Cp437Info("cp437-café-Grüße.txt", date_time=DATE_TIME)
        cp.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(cp, text("cp437 name", 5))
        z.writestr(info("utf8-naïve-日本語.txt"), text("utf-8 name", 5))


def other_reader(archive, name):
    """A member's bytes from bsdtar, else unzip, for methods zipfile cannot decompress."""
    for cmd in (["bsdtar", "-xOf", str(archive), name], ["unzip", "-p", str(archive), name]):
        r = subprocess.run(cmd, capture_output=True)
        if r.returncode == 0:
            return r.stdout
    raise SystemExit(f"{archive}: no reader can decompress {name}")


def shown_name(zi):
    """The entry's name as rangecat should show it: as zipfile decodes it (UTF-8 when the
    UTF-8 flag is set, else CP437), except that a name without the flag whose bytes are valid
    UTF-8 is read as UTF-8, as UnZip, 7-Zip and bsdtar on Linux (and the zip crate) read it."""
    if zi.flag_bits & 0x800:
        return zi.filename
    raw = zi.orig_filename.encode("cp437")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return zi.filename


# APPNOTE 4.4.5 method numbers, as zipfile reports them, and 7-Zip's names for them.
SEVEN_ZIP_METHODS = {0: "store", 8: "deflate", 9: "deflate64", 12: "bzip2", 14: "lzma",
                     93: "zstd", 95: "xz", 98: "ppmd"}


def seven_zip_view(archive):
    """Each entry of `archive` as `7z l -slt` lists it, in its order; None where 7-Zip cannot
    open the archive (an unadjusted prefix)."""
    r = subprocess.run(["7z", "l", "-slt", str(archive)], capture_output=True)
    if r.returncode != 0:
        return None
    text = r.stdout.decode("utf-8", "replace")
    entries = []
    for block in text.split("\n----------\n", 1)[1].split("\n\n"):
        fields = dict(line.split(" = ", 1) for line in block.splitlines() if " = " in line)
        if "Size" in fields:
            entries.append(fields)
    return entries


def check_with_7z(path, infos, rows):
    """Asserts that 7-Zip reads the same size, compressed size, method, CRC-32 and time as
    zipfile for every entry of `path` (`rows`: zipfile's values)."""
    view = seven_zip_view(path)
    if view is None:
        return
    assert len(view) == len(infos), (path, len(view))
    for seven, zi, (size, compressed, method, crc, modified) in zip(view, infos, rows):
        what = (path.name, zi.filename, seven)
        assert int(seven["Size"]) == size, what
        assert int(seven["Packed Size"]) == compressed, what
        # "ZipCrypto Deflate", "PPMd:o6:mem24": the last word, without parameters.
        name = seven["Method"].split()[-1].split(":")[0].lower()
        assert name == SEVEN_ZIP_METHODS[method], what
        assert int(seven["CRC"] or "0", 16) == crc, what
        assert seven["Modified"][:19] == modified.replace("T", " "), what


def manifest(out):
    out = Path(out)
    lines = [
        "# Written by make.py manifest: each archive's entries as Python's zipfile reads them,",
        "# in central-directory order (names: see shown_name in make.py). Tab-separated, the",
        "# name last:",
        "#   archive  kind  size  compressed  method  crc32  modified  sha256  name",
        "# kind: `archive` (size = entry count, the other fields `-`, the name empty), `dir`,",
        "# `file`, or `encrypted` (a file whose contents were decrypted with the password",
        "# 'secret'). size, compressed, method (APPNOTE number), crc32 and modified (the DOS",
        "# date and time, as zipfile decodes them) are the central directory's, as zipfile",
        "# reports them; 7-Zip's `7z l -slt` reports the same for every archive it opens.",
        "# For files, size and crc32 are also those of the contents read, and sha256 is theirs.",
    ]
    for path in sorted(out.glob("*.zip")):
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            lines.append(f"{path.name}\tarchive\t{len(infos)}\t-\t-\t-\t-\t-\t")
            rows = []
            for zi in infos:
                name = shown_name(zi)
                assert "\t" not in name and "\n" not in name
                modified = "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}".format(*zi.date_time)
                row = (zi.file_size, zi.compress_size, zi.compress_type, zi.CRC, modified)
                rows.append(row)
                fields = f"{row[0]}\t{row[1]}\t{row[2]}\t{row[3]:08x}\t{modified}"
                if zi.is_dir():
                    lines.append(f"{path.name}\tdir\t{fields}\t-\t{name}")
                    continue
                encrypted = bool(zi.flag_bits & 1)
                try:
                    data = z.read(zi, pwd=PASSWORD if encrypted else None)
                except NotImplementedError:
                    data = other_reader(path, zi.filename)
                crc = zlib.crc32(data)
                assert crc == zi.CRC and len(data) == zi.file_size, (path, zi.filename)
                kind = "encrypted" if encrypted else "file"
                sha = hashlib.sha256(data).hexdigest()
                lines.append(f"{path.name}\t{kind}\t{fields}\t{sha}\t{name}")
            check_with_7z(path, infos, rows)
    (out / "expected.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    command, target = sys.argv[1], sys.argv[2]
    {"inputs": inputs, "archives": archives, "zstd": zstd, "manifest": manifest}[command](target)
