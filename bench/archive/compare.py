"""warcio against FastWARC on the same WARC: records/s iterating and reading every HTTP body, peak RSS.

Each library runs in its own child process (so one's imports and buffers do not count against the other),
`--rounds` times, alternately; the best wall time is kept, and its CPU time is printed too (on a loaded machine
the CPU time is the steadier figure). FastWARC is not a dependency: `pip install fastwarc` first.
Run from the repo root: `python bench/archive/compare.py FILE.warc.gz [--rounds 2]`.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def loop_warcio(path: str) -> tuple[int, int]:
    from warcio.archiveiterator import ArchiveIterator

    records = body_bytes = 0
    with open(path, "rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type == "response":
                body_bytes += len(record.content_stream().read())
            records += 1
    return records, body_bytes


def loop_fastwarc(path: str) -> tuple[int, int]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    records = body_bytes = 0
    with open(path, "rb") as stream:
        for record in ArchiveIterator(stream, parse_http=True):
            if record.record_type == WarcRecordType.response:
                body_bytes += len(record.reader.read())
            records += 1
    return records, body_bytes


LOOPS = {"warcio": loop_warcio, "fastwarc": loop_fastwarc}


def child(library: str, path: str) -> None:
    start, cpu = time.perf_counter(), time.process_time()
    records, body_bytes = LOOPS[library](path)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "library": library,
                "records": records,
                "body_bytes": body_bytes,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "records_per_s": records / seconds,
                "peak_rss_mb": peak_mb,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", choices=sorted(LOOPS))
    args = parser.parse_args()
    if args.child:
        child(args.child, args.path)
        return
    best: dict[str, dict] = {}
    for _ in range(args.rounds):
        for library in LOOPS:  # alternately, so a burst of load on the shared machine hits both
            out = subprocess.run(
                [sys.executable, __file__, args.path, "--child", library], check=True, capture_output=True, text=True
            ).stdout
            result = json.loads(out)
            if library not in best or result["seconds"] < best[library]["seconds"]:
                best[library] = result
    for result in best.values():
        print(
            f"{result['library']:9} {result['records']:,} records, {result['body_bytes'] / 1e6:,.0f} MB of bodies "
            f"in {result['seconds']:.2f} s (CPU {result['cpu_seconds']:.2f} s): "
            f"{result['records_per_s']:,.0f} records/s, "
            f"peak RSS {result['peak_rss_mb']:.0f} MB"
        )
    if len({r["body_bytes"] for r in best.values()}) != 1:
        sys.exit("the libraries read different body byte counts")


if __name__ == "__main__":
    main()
