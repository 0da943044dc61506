#!/usr/bin/env python3
"""Helpers of Benchmarks/peers/compare: deterministic images, their changes, the summary.

Every byte this writes comes from a seeded Mersenne Twister (Python's `random.Random(seed)`,
whose output for an integer seed is stable across Python 3 versions), or, for the ext4 image,
from the files of the installed Swift toolchain chosen by a fixed rule. Nothing here reads the
clock or the system's entropy.

Subcommands:
  files SRC DEST MIB        copy a fixed selection of SRC's files (about MIB MiB) into DEST
  mixed PATH MIB SEED       write a synthetic image of zero, text-like and random regions
  scatter PATH PCT SEED OUT  overwrite PCT % of PATH in scattered 4 KiB writes; OUT = changed ranges
  cluster PATH PCT TRIM SEED OUT  PCT % in a few clustered runs, then punch a TRIM % hole
  summary TSV               medians per image, step and tool, and the ratios peer / BlockSnap
"""

import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys

PAGE = 4096
MIB = 1 << 20
FIXED_MTIME = 1_700_000_000  # every copied file and directory gets this time


def text_table():
    """A 256-entry translation table giving English-like letter frequencies.

    Random bytes mapped through it compress about as well as prose (zstd-1 to roughly 60 %),
    and every block stays unique, so no tool gains from accidental duplicates.
    """
    weights = {
        " ": 30, "e": 20, "t": 15, "a": 13, "o": 12, "i": 11, "n": 11, "s": 10, "h": 9,
        "r": 9, "d": 7, "l": 6, "u": 5, "c": 5, "m": 4, "w": 4, "f": 4, "g": 3, "y": 3,
        "p": 3, "b": 2, ",": 2, ".": 2, "\n": 3, "v": 1, "k": 1, "0": 1, "1": 1, "=": 1,
    }
    letters = []
    for ch, w in sorted(weights.items()):
        letters += [ch] * w
    table = bytes(ord(letters[i * len(letters) // 256]) for i in range(256))
    return table


def cmd_files(src, dest, mib):
    """Copies about `mib` MiB of regular files of `src` into `dest`.

    The rule: every regular file (no symlinks) under `src`, ordered by SHA-256 of its relative
    path, taken in that order until the total reaches the target. The hash order mixes the
    toolchain's executables, libraries, modules, headers and documents instead of taking the
    first directories alphabetically. Files bigger than a quarter of the target are skipped so no
    single binary dominates. The same toolchain gives the same selection on any machine; the
    manifest digest printed at the end identifies it.
    """
    target = int(mib) * MIB
    entries = []
    for root, dirs, files in os.walk(src):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            rel = os.path.relpath(path, src)
            size = os.path.getsize(path)
            if size > target // 4:
                continue
            entries.append((hashlib.sha256(rel.encode()).hexdigest(), rel, size))
    entries.sort()
    chosen, total = [], 0
    for _, rel, size in entries:
        if total >= target:
            break
        chosen.append(rel)
        total += size
    chosen.sort()
    manifest = hashlib.sha256()
    for rel in chosen:
        out = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        shutil.copyfile(os.path.join(src, rel), out)
        os.chmod(out, 0o644)
        os.utime(out, (FIXED_MTIME, FIXED_MTIME))
        with open(out, "rb") as f:
            manifest.update(rel.encode() + b"\0" + hashlib.sha256(f.read()).digest())
    for root, dirs, _ in os.walk(dest, topdown=False):
        for d in dirs:
            os.utime(os.path.join(root, d), (FIXED_MTIME, FIXED_MTIME))
    os.utime(dest, (FIXED_MTIME, FIXED_MTIME))
    print(f"{len(chosen)} files, {total} bytes, manifest sha256 {manifest.hexdigest()[:16]}")


def cmd_mixed(path, mib, seed):
    """Writes a synthetic image: runs of zeros, text-like and random bytes.

    Region lengths are 4 KiB to 2 MiB (multiples of 4 KiB), kinds drawn with weights 3:4:3
    (zero : text : random), so about a third of the image is zeros. The zero runs are written
    out (a raw disk read gives zeros, not holes).
    """
    rng = random.Random(int(seed))
    size = int(mib) * MIB
    table = text_table()
    zeros = bytes(2 * MIB)
    with open(path, "wb") as f:
        done = 0
        while done < size:
            n = min(rng.randrange(1, 513) * PAGE, size - done)
            kind = rng.choices(("zero", "text", "random"), weights=(3, 4, 3))[0]
            if kind == "zero":
                f.write(zeros[:n])
            elif kind == "text":
                f.write(rng.randbytes(n).translate(table))
            else:
                f.write(rng.randbytes(n))
            done += n


def merge(ranges):
    """Sorts [start, length] pairs and joins touching ones."""
    out = []
    for start, length in sorted(ranges):
        if out and out[-1][0] + out[-1][1] >= start:
            end = max(out[-1][0] + out[-1][1], start + length)
            out[-1][1] = end - out[-1][0]
        else:
            out.append([start, length])
    return out


def write_changed(out, ranges):
    with open(out, "w") as f:
        json.dump({"disks": [{"disk": 0, "ranges": merge(ranges)}]}, f)


def cmd_scatter(path, pct, seed, out):
    """Overwrites `pct` % of the image in 4 KiB writes at distinct random pages (random bytes)."""
    rng = random.Random(int(seed))
    size = os.path.getsize(path)
    pages = size // PAGE
    count = max(1, int(pages * float(pct) / 100))
    chosen = sorted(rng.sample(range(pages), count))
    with open(path, "r+b") as f:
        for p in chosen:
            f.seek(p * PAGE)
            f.write(rng.randbytes(PAGE))
    write_changed(out, [[p * PAGE, PAGE] for p in chosen])
    print(f"{count} scattered 4 KiB writes")


def cmd_cluster(path, pct, trim_pct, seed, out):
    """Writes `pct` % of the image in 8 contiguous runs, then punches a `trim_pct` % hole.

    Runs are half random, half text-like bytes, at random page-aligned places; the hole is
    one range (a discard) at a random place, made with `fallocate --punch-hole`. The changed
    ranges list the runs and the hole.
    """
    rng = random.Random(int(seed))
    size = os.path.getsize(path)
    pages = size // PAGE
    table = text_table()
    runs = 8
    per_run = max(1, int(pages * float(pct) / 100) // runs)
    ranges = []
    with open(path, "r+b") as f:
        for i in range(runs):
            start = rng.randrange(0, pages - per_run) * PAGE
            data = rng.randbytes(per_run * PAGE)
            f.seek(start)
            f.write(data if i % 2 == 0 else data.translate(table))
            ranges.append([start, per_run * PAGE])
        f.flush()
        os.fsync(f.fileno())
    hole = max(1, int(pages * float(trim_pct) / 100))
    hstart = rng.randrange(0, pages - hole) * PAGE
    subprocess.run(
        ["fallocate", "--punch-hole", "--keep-size", "--offset", str(hstart), "--length", str(hole * PAGE), path],
        check=True,
    )
    ranges.append([hstart, hole * PAGE])
    write_changed(out, ranges)
    print(f"{runs} runs of {per_run * PAGE} bytes, hole of {hole * PAGE} bytes at {hstart}")


def fmt_bytes(n):
    if n is None:
        return "–"
    if abs(n) >= MIB:
        return f"{n / MIB:.1f} MiB"
    return f"{n / 1024:.0f} KiB"


def ratio(peer, ours):
    if peer is None or ours is None:
        return "–"
    if ours <= 0:
        return "∞" if peer > 0 else "–"
    return f"{peer / ours:.2f}×"


def cmd_summary(tsv):
    """Prints, per image: a table of medians per step and tool, then ratios peer ÷ BlockSnap.

    A ratio above 1 means BlockSnap used less (time, CPU, memory or stored bytes).
    """
    rows = []
    with open(tsv) as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            rows.append(dict(zip(header, line.rstrip("\n").split("\t"))))
    steps = ["full", "incr-1pct-scattered", "incr-5pct-clustered+trim", "restore-latest", "restore-first"]
    tools = ["blocksnap", "blocksnap-read", "restic", "borg"]
    runs = sorted({r["run"] for r in rows})
    med = {}
    for r in rows:
        key = (r["image"], r["step"], r["tool"])
        med.setdefault(key, []).append(r)
    images = []
    for r in rows:
        if r["image"] not in images:
            images.append(r["image"])

    def m(key, field):
        vals = [float(r[field]) for r in med.get(key, []) if r[field] not in ("", "-")]
        return statistics.median(vals) if vals else None

    print(f"medians over {len(runs)} run(s); stored = repository growth (du -sb) in that step")
    for image in images:
        print()
        print(f"### image: {image}")
        print()
        print("| step | tool | wall s | CPU s (user+sys) | peak RSS MiB | stored |")
        print("|---|---|---:|---:|---:|---:|")
        for step in steps:
            for tool in tools:
                key = (image, step, tool)
                if key not in med:
                    continue
                wall, cpu, rss, stored = m(key, "wall_s"), m(key, "cpu_s"), m(key, "rss_kib"), m(key, "stored_bytes")
                print(
                    f"| {step} | {tool} | {wall:.2f} | {cpu:.2f} | {rss / 1024:.0f} | "
                    f"{fmt_bytes(stored) if step.startswith(('full', 'incr')) else '–'} |"
                )
        print()
        print("ratios peer ÷ BlockSnap (above 1: BlockSnap better); incrementals against BlockSnap with")
        print("tracked ranges, and in brackets against BlockSnap reading and comparing the whole image")
        print()
        print("| step | peer | wall | CPU | peak RSS | stored |")
        print("|---|---|---:|---:|---:|---:|")
        for step in steps:
            for peer in ("restic", "borg"):
                pk = (image, step, peer)
                if pk not in med:
                    continue
                cells = []
                for field in ("wall_s", "cpu_s", "rss_kib", "stored_bytes"):
                    if field == "stored_bytes" and step.startswith("restore"):
                        cells.append("–")
                        continue
                    c = ratio(m(pk, field), m((image, step, "blocksnap"), field))
                    if (image, step, "blocksnap-read") in med:
                        c += f" ({ratio(m(pk, field), m((image, step, 'blocksnap-read'), field))})"
                    cells.append(c)
                print(f"| {step} | {peer} | " + " | ".join(cells) + " |")


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    table = {
        "files": (cmd_files, 3),
        "mixed": (cmd_mixed, 3),
        "scatter": (cmd_scatter, 4),
        "cluster": (cmd_cluster, 5),
        "summary": (cmd_summary, 1),
    }
    if cmd not in table or len(args) != table[cmd][1]:
        print(__doc__, file=sys.stderr)
        return 2
    table[cmd][0](*args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
