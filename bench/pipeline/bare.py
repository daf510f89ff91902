"""The bare baseline that bench/pipeline/process.py times from process start to exit.

`python bench/pipeline/bare.py DIR [--workers 2] [--start-method fork]`: every .html/.htm file under DIR
through `trafilatura.extract(html, include_comments=False, favor_precision=True)`, then langdetect
(`DetectorFactory.seed = 0`) on the full extracted text, on `--workers` processes (`multiprocessing.Pool.map`,
chunks of 8). Plain-text files (.txt, the seeds) are their own text: trafilatura returns None on text that is
not HTML, so they only get langdetect. Prints one JSON line of counts. Nothing of mediamon is imported.

The modules are imported at the top, before the pool forks (fork is Python 3.11's default on Linux), which is
what a short script written for the job would do, and the cheapest start its workers can have.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
from collections import Counter
from pathlib import Path

import trafilatura
from langdetect import DetectorFactory, detect_langs
from langdetect.lang_detect_exception import LangDetectException

DetectorFactory.seed = 0
HTML_SUFFIXES = {".html", ".htm"}
TEXT_SUFFIXES = {".txt"}


def page(path: str) -> str | None:
    """The page's language, or None when there is no text (or langdetect finds no features)."""
    raw = Path(path).read_bytes().decode("utf-8", errors="replace")
    if Path(path).suffix in HTML_SUFFIXES:
        text = trafilatura.extract(raw, include_comments=False, favor_precision=True)
    else:
        text = raw
    if not text:
        return None
    try:
        return detect_langs(text)[0].lang
    except LangDetectException:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--start-method", default="fork", choices=("fork", "spawn", "forkserver"))
    args = parser.parse_args()
    paths = sorted(str(p) for p in args.folder.rglob("*") if p.suffix in HTML_SUFFIXES | TEXT_SUFFIXES)
    with multiprocessing.get_context(args.start_method).Pool(args.workers) as pool:
        languages = pool.map(page, paths, chunksize=8)
    found = Counter(lang for lang in languages if lang)
    print(json.dumps({"files": len(paths), "with_text": sum(found.values()), "languages": dict(found.most_common())}))


if __name__ == "__main__":
    main()
