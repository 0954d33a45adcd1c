#!/usr/bin/env bash
# Recreates every fixture in tests/data/ from scratch, and expected.txt from them.
# The tests never run this: they read the checked-in files. See README.md for each file.
#
# Needs: Info-ZIP zip 3.0 and unzip 6.0, Python 3.11 with backports.zstd (Python 3.14's
# zipfile, the only writer of Zstandard zips among these tools), 7-Zip (p7zip-full) and bsdtar
# (libarchive-tools). On Debian: apt-get install zip unzip p7zip-full libarchive-tools, then
# pip install backports.zstd (a virtualenv's python3 first on PATH will do).
#
# To rewrite expected.txt alone from the checked-in archives (the archives untouched):
#   python3 tests/data/make.py manifest tests/data
#
# Byte-for-byte reproducible except where a tool records what no script controls: the uid
# and gid Info-ZIP and bsdtar store (the "ux" extra field, 0/0 when run as root), the inode
# change time bsdtar stores (bsdtar-*.zip), and the random encryption header of
# infozip-encrypted.zip. Contents, names, order and modification times never change.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
for tool in zip unzip python3 7z bsdtar; do
    command -v "$tool" >/dev/null || { echo "make.sh: $tool is required" >&2; exit 1; }
done
python3 -c 'import backports.zstd' || { echo "make.sh: backports.zstd is required" >&2; exit 1; }

export TZ=UTC LC_ALL=C.UTF-8 SOURCE_DATE_EPOCH=1715953530
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

rm -f "$here"/*.zip "$here/expected.txt"

# The inputs: tree/{README.txt, empty.txt, sub/{numbers.txt, noise.bin}, sub/deeper/},
# names/ünïcødé-name.txt, stdin.txt and stub.sh, every timestamp 2024-05-17 13:45:30 UTC.
python3 "$here/make.py" inputs .
mkdir names && printf 'x\n' >"names/ünïcødé-name.txt"
# Info-ZIP and bsdtar store access times too, and reading a file or directory moves its
# atime: stamp the inputs again before every archiver runs, and name every entry instead of
# letting the archivers read directories (which would also make the order the file system's).
stamp() { find tree names stdin.txt -exec touch -d '2024-05-17 13:45:30' {} +; }
tree="tree/ tree/empty.txt tree/README.txt tree/sub/ tree/sub/noise.bin tree/sub/numbers.txt
tree/sub/deeper/"

# ---- Info-ZIP zip 3.0 (the entries as `zip -r ARCHIVE tree` would add them) ----
stamp; zip -q infozip-deflate.zip $tree
stamp; zip -q -0 infozip-stored.zip $tree
stamp; printf 'An archive comment\nwritten by zip -z, over two lines.\n' |
    zip -q -z infozip-comment.zip $tree
stamp; zip -q -fz infozip-zip64.zip $tree
stamp; zip -q -Z bzip2 infozip-bzip2.zip $tree
# Output to a pipe: zip cannot seek back, so every file gets a data descriptor.
stamp; zip -q - $tree | cat >infozip-stream.zip
# Input from a pipe: one member named "-", a data descriptor, a Zip64 local header.
stamp; zip -q - - <stdin.txt | cat >infozip-stdin.zip
# A prefix in front of the archive: offsets left as they were, then adjusted with -A.
cat stub.sh infozip-deflate.zip >infozip-sfx.zip
cat stub.sh infozip-deflate.zip >infozip-sfx-adjusted.zip
zip -q -A infozip-sfx-adjusted.zip
cat stub.sh infozip-zip64.zip >infozip-sfx-zip64.zip
# One plain member, then one encrypted (traditional PKWARE encryption).
stamp; zip -q infozip-encrypted.zip tree/README.txt
stamp; zip -q -P secret infozip-encrypted.zip tree/sub/numbers.txt
# A non-ASCII file name under a UTF-8 locale: zip stores its UTF-8 bytes without the UTF-8
# flag (even with -UN=UTF8). The spec says CP437, and zipfile decodes it so; UnZip, 7-Zip,
# bsdtar and the zip crate read it as UTF-8 (see shown_name in make.py).
stamp; zip -q infozip-utf8-noflag.zip 'names/ünïcødé-name.txt' tree/README.txt

# ---- bsdtar (libarchive): data descriptors on every file, deflated and stored ----
stamp; bsdtar --format zip -n -cf bsdtar-deflate.zip $tree
stamp; bsdtar --format zip --options zip:compression=store -n -cf bsdtar-stored.zip $tree

# ---- 7-Zip: methods that neither Info-ZIP nor zipfile write ----
for method in Deflate64 PPMd LZMA XZ; do
    lower=$(echo "$method" | tr 'A-Z' 'a-z')
    stamp; 7z a -bd -bso0 -tzip -mm="$method" -mtc=off "7z-$lower.zip" tree/README.txt tree/sub
done

# ---- Python's zipfile (py-zstd.zip: its 3.14 version, from backports.zstd) ----
python3 "$here/make.py" archives .

# Every archive must pass two other readers' integrity tests before it is kept: 7-Zip's,
# and UnZip's where UnZip can read it (no LZMA, XZ, PPMd or Zstandard; nothing in an empty
# archive).
for f in *.zip; do
    # 7-Zip does not open an archive behind an unadjusted prefix (zipfile and UnZip do).
    case "$f" in infozip-sfx.zip | infozip-sfx-zip64.zip) ;; *) 7z t -bso0 -psecret "$f" ;; esac
    case "$f" in
    py-empty.zip | py-methods.zip | py-zstd.zip | 7z-*.zip) ;;
    # Unadjusted prefixes: unzip warns about the extra bytes (exit 1) and reads on.
    infozip-sfx.zip | infozip-sfx-zip64.zip) unzip -tqq "$f" >/dev/null 2>&1 || [ $? -eq 1 ] ;;
    *) unzip -tqq -P secret "$f" ;;
    esac
done

cp ./*.zip "$here/"
python3 "$here/make.py" manifest "$here"
ls -l "$here"
