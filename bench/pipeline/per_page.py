"""Extraction per page: what mediamon's extraction workers do for a page against what the bare loop does.

`python bench/pipeline/per_page.py CORPUS [--every 50]`: every `--every`-th page of a `generate.py` corpus, in
one process, alternated page by page, CPU time (`time.process_time`) of:

- mediamon: `extract_document` (what an extraction worker runs per page: decoding, trafilatura with the
  page's metadata, media and links, text clean-up, language on a 2,000-character prose sample);
- bare: `trafilatura.extract(html, include_comments=False, favor_precision=True)` then langdetect
  (`DetectorFactory.seed = 0`) on the full extracted text, as `bare.py` does;

and apart, on the same pages: trafilatura alone both ways (`bare_extraction` on mediamon's tree with and
without metadata, the parse included as `extract` includes it), mediamon's language step on its text, and
langdetect on the full text. Both are warmed up first (imports, language profiles).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import trafilatura
from langdetect import DetectorFactory, detect_langs
from trafilatura.settings import set_date_params

from extractors import extract_document
from extractors.html import _DATE_FORMAT, TRAFILATURA_OPTIONS, load_tree
from extractors.language import detect_language

DetectorFactory.seed = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--every", type=int, default=50, help="take every n-th page (sorted by path)")
    args = parser.parse_args()
    paths = sorted(args.corpus.rglob("*.html"))[:: args.every]
    raws = [path.read_bytes() for path in paths]
    extract_document(raws[0], paths[0].as_uri(), "html")
    detect_langs("warming up the language profiles of langdetect")
    seconds: dict[str, float] = {}

    def timed(name: str, fn, *args, **kwargs):
        started = time.process_time()
        result = fn(*args, **kwargs)
        seconds[name] = seconds.get(name, 0.0) + time.process_time() - started
        return result

    metadata = {"with_metadata": True, "date_extraction_params": {**set_date_params(), "outputformat": _DATE_FORMAT}}
    for path, raw in zip(paths, raws, strict=True):
        article = timed("mediamon: extract_document", extract_document, raw, path.as_uri(), "html")
        html = raw.decode("utf-8", errors="replace")
        text = timed("bare: trafilatura.extract", trafilatura.extract, html, **TRAFILATURA_OPTIONS)
        timed("bare: langdetect on the full text", detect_langs, text)
        timed("mediamon: language on its text (in extract_document)", detect_language, article.text)
        timed(
            "trafilatura.bare_extraction with metadata (in extract_document)",
            lambda html=html: trafilatura.bare_extraction(load_tree(html), **metadata, **TRAFILATURA_OPTIONS),
        )
        timed(
            "trafilatura.bare_extraction without metadata",
            lambda html=html: trafilatura.bare_extraction(load_tree(html), **TRAFILATURA_OPTIONS),
        )
    count = len(paths)
    ours = seconds["mediamon: extract_document"]
    bare = seconds["bare: trafilatura.extract"] + seconds["bare: langdetect on the full text"]
    print(f"{count} pages of {args.corpus}, CPU ms per page:")
    print(f"  {'mediamon: extract_document':<66} {1000 * ours / count:6.2f}")
    print(f"  {'bare: trafilatura.extract + langdetect on the full text':<66} {1000 * bare / count:6.2f}")
    for name, value in seconds.items():
        if name != "mediamon: extract_document":
            print(f"    {name:<64} {1000 * value / count:6.2f}")
    print(f"ratio bare / mediamon: {bare / ours:.2f}")


if __name__ == "__main__":
    main()
