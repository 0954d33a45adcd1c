#!/usr/bin/env python3
"""Test archives for benches/zip.sh, made with Python's zipfile, and checks of what clients wrote.

    archives.py make DIR ENTRIES BIG_MIB MEMBERS
        Writes into DIR (skipping any archive whose .env says it was made by this same
        version of the script with the same parameters; they are kept between runs):
          many-ENTRIES.zip   ENTRIES small stored entries with ~30-character names (Zip64
                             end records once ENTRIES > 65,535); many-ENTRIES.names lists
                             them in archive order
          big-BIG_MIB.zip    one member of BIG_MIB MiB, deflated: 1 MiB blocks cycling
                             through random bytes, random bytes over a 16-letter alphabet,
                             log-like lines, and runs of repeated bytes
          files-MEMBERS.zip  MEMBERS deflated members of 4-64 KiB in 10 directories, half
                             text-like, half random
        and beside each archive a .env of shell assignments: the archive's size, its central
        directory's offset and size, its entry count, and for the first two the member to
        `cat` with its size and SHA-256.
    archives.py verify-tree ZIP DIR
        Exit 0 when DIR holds every file member of ZIP with the right bytes (CRC-32 and size),
        else print what is wrong and exit 1.

Everything is seeded: the same parameters give the same archives.
"""

import hashlib
import os
import random
import shlex
import struct
import sys
import zipfile
import zlib

DATE = (2024, 1, 2, 3, 4, 6)
# Bump when the archives this script makes change, so that cached ones are made anew.
SELF = "archives-v1"


def central_directory(path):
    """(offset, size, entries) of the central directory, from the end records."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        tail_len = min(size, 65557 + 20)
        f.seek(size - tail_len)
        tail = f.read()
    eocd = tail.rfind(b"PK\x05\x06")
    if eocd < 0:
        raise SystemExit(f"{path}: no end of central directory record")
    (_, _, _, _, entries, cd_size, cd_offset, _) = struct.unpack_from("<IHHHHIIH", tail, eocd)
    loc = eocd - 20
    if loc >= 0 and tail[loc:loc + 4] == b"PK\x06\x07":
        (_, _, z64_offset, _) = struct.unpack_from("<IIQI", tail, loc)
        with open(path, "rb") as f:
            f.seek(z64_offset)
            rec = f.read(56)
        if rec[:4] != b"PK\x06\x06":
            raise SystemExit(f"{path}: bad Zip64 end of central directory record")
        (entries, cd_size, cd_offset) = struct.unpack_from("<QQQ", rec, 32)
    return cd_offset, cd_size, entries


def write_env(zip_path, extra):
    cd_offset, cd_size, entries = central_directory(zip_path)
    values = {
        "maker": SELF,
        "archive_size": os.path.getsize(zip_path),
        "cd_offset": cd_offset,
        "cd_size": cd_size,
        "entries": entries,
    }
    values.update(extra)
    env = zip_path[:-4] + ".env"
    with open(env + ".tmp", "w") as f:
        for k, v in values.items():
            f.write(f"{k}={shlex.quote(str(v))}\n")
    os.replace(env + ".tmp", env)


def up_to_date(zip_path, params):
    env = zip_path[:-4] + ".env"
    if not (os.path.exists(zip_path) and os.path.exists(env)):
        return False
    text = open(env).read()
    return f"maker={SELF}\n" in text and f"params={shlex.quote(params)}\n" in text


def info(name, method):
    zi = zipfile.ZipInfo(name, DATE)
    zi.compress_type = method
    zi.external_attr = 0o644 << 16
    return zi


def make_many(directory, entries):
    path = os.path.join(directory, f"many-{entries}.zip")
    params = f"entries={entries}"
    if up_to_date(path, params):
        return
    print(f"archives: writing many-{entries}.zip, {entries} entries", file=sys.stderr)
    rng = random.Random(1)
    names = []
    with zipfile.ZipFile(path + ".tmp", "w", zipfile.ZIP_STORED) as zf:
        for i in range(entries):
            # d042/entry-042123-1a2b3c4d.txt: 30 characters
            name = f"d{i // 1000:03d}/entry-{i:06d}-{rng.getrandbits(32):08x}.txt"
            data = (f"entry {i}\n" + "x" * rng.randrange(10, 60) + "\n").encode()
            zf.writestr(info(name, zipfile.ZIP_STORED), data)
            names.append(name)
    os.replace(path + ".tmp", path)
    with open(path[:-4] + ".names", "w") as f:
        f.write("".join(n + "\n" for n in names))
    member = names[len(names) // 2]
    with zipfile.ZipFile(path) as zf:
        data = zf.read(member)
    write_env(path, {
        "params": params,
        "member": member,
        "member_size": len(data),
        "member_sha256": hashlib.sha256(data).hexdigest(),
    })


def big_blocks(mib):
    rng = random.Random(2)
    alphabet = bytes.maketrans(bytes(range(256)), b"etaoinshrdlucmfw" * 16)
    block = 1 << 20
    line = 0
    for i in range(mib):
        kind = i % 4
        if kind == 0:
            yield rng.randbytes(block)
        elif kind == 1:
            yield rng.randbytes(block).translate(alphabet)
        elif kind == 2:
            out = []
            n = 0
            while n < block:
                s = (f"2024-01-02T03:{line // 60 % 60:02d}:{line % 60:02d} INFO GET /api/v1/items/"
                     f"{rng.randrange(100000)} status=200 bytes={rng.randrange(1 << 20)} "
                     f"ms={rng.randrange(1000)}\n").encode()
                out.append(s)
                n += len(s)
                line += 1
            yield b"".join(out)[:block]
        else:
            yield bytes([rng.randrange(4)]) * (block // 2) + bytes([rng.randrange(256)]) * (block // 2)


def make_big(directory, mib):
    path = os.path.join(directory, f"big-{mib}.zip")
    params = f"mib={mib}"
    if up_to_date(path, params):
        return
    print(f"archives: writing big-{mib}.zip, one deflated member of {mib} MiB", file=sys.stderr)
    member = "data/big.bin"
    h = hashlib.sha256()
    size = 0
    with zipfile.ZipFile(path + ".tmp", "w") as zf:
        with zf.open(info(member, zipfile.ZIP_DEFLATED), "w", force_zip64=mib >= 4000) as w:
            for b in big_blocks(mib):
                w.write(b)
                h.update(b)
                size += len(b)
    os.replace(path + ".tmp", path)
    write_env(path, {
        "params": params,
        "member": member,
        "member_size": size,
        "member_sha256": h.hexdigest(),
    })


def make_files(directory, members):
    path = os.path.join(directory, f"files-{members}.zip")
    params = f"members={members} sizes=4-64KiB"
    if up_to_date(path, params):
        return
    print(f"archives: writing files-{members}.zip, {members} members of 4-64 KiB", file=sys.stderr)
    rng = random.Random(3)
    total = 0
    with zipfile.ZipFile(path + ".tmp", "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(members):
            size = rng.randrange(4 << 10, 64 << 10)
            if i % 2:
                data = rng.randbytes(size)
            else:
                words = [f"{rng.choice(['alpha', 'beta', 'gamma', 'delta'])}{rng.randrange(1000)}"
                         for _ in range(size // 8)]
                data = " ".join(words).encode()[:size]
            zf.writestr(info(f"dir{i % 10}/file-{i:04d}.dat", zipfile.ZIP_DEFLATED), data)
            total += len(data)
    os.replace(path + ".tmp", path)
    write_env(path, {"params": params, "total_size": total})


def verify_tree(zip_path, directory):
    bad = 0
    with zipfile.ZipFile(zip_path) as zf:
        for zi in zf.infolist():
            if zi.is_dir():
                continue
            p = os.path.join(directory, zi.filename)
            try:
                with open(p, "rb") as f:
                    data = f.read()
            except OSError as e:
                print(f"verify: {zi.filename}: {e}", file=sys.stderr)
                bad += 1
                continue
            if len(data) != zi.file_size or zlib.crc32(data) != zi.CRC:
                print(f"verify: {zi.filename}: wrong bytes", file=sys.stderr)
                bad += 1
            if bad >= 10:
                break
    return 1 if bad else 0


def main(argv):
    if len(argv) == 6 and argv[1] == "make":
        directory = argv[2]
        os.makedirs(directory, exist_ok=True)
        make_many(directory, int(argv[3]))
        make_big(directory, int(argv[4]))
        make_files(directory, int(argv[5]))
        return 0
    if len(argv) == 4 and argv[1] == "verify-tree":
        return verify_tree(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
