"""WARC files as ingest input: each HTML response record (status 200) becomes a fetched page, read as the web
path reads a live response (same extraction, same change detection, the body stored in `fetches` with the
record's provenance); other records are skipped and counted, broken ones are rejects. The file is streamed:
a batch of records at a time, never the whole file."""

from __future__ import annotations

import dataclasses
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from extractors import Reject
from extractors.document import WARC_SUFFIXES
from extractors.listings import Link
from fetching.fetch import FetchResult
from fetching.files import FoundFile
from fetching.warc import WarcCounts, WarcReject, WarcResponse, read_warc
from pipeline.batches import ExtractedBatch
from warehouse.load import RejectedDocument


def is_warc(name: str) -> bool:
    return name.lower().endswith(WARC_SUFFIXES)


@dataclass(frozen=True)
class WarcStream:
    """WARC records read elsewhere (a remote WARC streamed by `fetching.archives.stream_warc`, filtered), named by
    `uri` (the WARC's URL) and marked as coming from `archive` in the fetches' provenance."""

    uri: str
    items: Iterable[WarcResponse | WarcReject]
    archive: str = "ccnews"

    @property
    def reject_uri(self) -> str:
        return self.uri


@dataclass
class WarcChunk:
    """Up to a batch of a WARC file's responses, as links and fetch results, and the rejects met reading them."""

    warc: FoundFile | WarcStream
    links: list[Link] = field(default_factory=list)
    results: list[FetchResult] = field(default_factory=list)
    provenance: dict[str, WarcResponse] = field(default_factory=dict)  # by target URI, body dropped
    rejects: list[RejectedDocument] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.links) + len(self.rejects)


def warc_chunks(
    warc: FoundFile | WarcStream, max_bytes: int, batch_size: int, counts: WarcCounts
) -> Iterator[WarcChunk]:
    """Stream `warc` (a file, or records already being read) in chunks of at most `batch_size` responses. A file
    that cannot be opened is one reject."""
    chunk = WarcChunk(warc)
    items = warc.items if isinstance(warc, WarcStream) else read_warc(warc.path, max_bytes=max_bytes, counts=counts)
    try:
        for item in items:
            if isinstance(item, WarcReject):
                chunk.rejects.append(RejectedDocument(_reject_key(warc, item), "read", item.reject))
            else:
                _add_response(chunk, item)
            if len(chunk.links) >= batch_size:
                yield chunk
                chunk = WarcChunk(warc)
    except OSError as exc:
        chunk.rejects.append(RejectedDocument(warc.reject_uri, "read", Reject("unreadable", str(exc))))
    if len(chunk):
        yield chunk


def read_ahead(items: Iterator, depth: int) -> Iterator:
    """`items`, produced on a thread of their own up to `depth` ahead of the consumer (so that reading a WARC,
    mostly decompression and byte searches, goes on while the consumer waits for extraction processes); an
    exception raised while producing is raised here, after the items before it. Stopping early (an exception in
    the consumer, or `close`) stops the thread at its next item."""
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    ahead: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        ahead.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as exc:  # noqa: BLE001 (handed to the consumer, raised there)
            ahead.put((done, exc))
            return
        ahead.put((done, None))

    thread = threading.Thread(target=produce, name="warc-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, error = ahead.get()
            if item is done:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                ahead.get_nowait()
            except queue.Empty:
                thread.join(0.1)


def _add_response(chunk: WarcChunk, response: WarcResponse) -> None:
    uri = response.target_uri
    if uri in chunk.provenance:  # the same URL twice in one batch: the later record wins, as in a later batch
        index = next(i for i, link in enumerate(chunk.links) if link.url == uri)
        del chunk.links[index], chunk.results[index]
    chunk.links.append(Link(uri))
    chunk.results.append(
        FetchResult(
            requested_url=uri,
            final_url=uri,
            status=response.status,
            fetched_at=response.warc_date,
            headers=dict(response.headers),
            body=response.body,
        )
    )
    chunk.provenance[uri] = dataclasses.replace(response, body=b"")


def _reject_key(warc: FoundFile | WarcStream, item: WarcReject) -> str:
    """The record's URI when it was read, else the file's URI with the record's offset (stable across runs)."""
    return item.target_uri or f"{warc.uri}#offset={item.offset}"


def with_provenance(batch: ExtractedBatch, chunk: WarcChunk) -> ExtractedBatch:
    """The batch's fetch records, marked with the WARC record each came from."""
    warc_uri = chunk.warc.uri
    archive = chunk.warc.archive if isinstance(chunk.warc, WarcStream) else "warc"
    batch.fetches = [
        dataclasses.replace(
            record,
            archive=archive,
            archive_uri=warc_uri,
            archive_record_id=chunk.provenance[record.url].record_id,
            archive_offset=chunk.provenance[record.url].offset,
            archived_at=chunk.provenance[record.url].warc_date,
        )
        for record in batch.fetches
    ]
    batch.rejects = chunk.rejects + batch.rejects
    return batch


def describe_counts(path: Path, counts: WarcCounts) -> str:
    skipped = ", ".join(f"{kind} {n}" for kind, n in counts.skipped.most_common()) or "none"
    return f"WARC {path.name}: {counts.responses} HTML responses, {counts.rejects} rejects; skipped: {skipped}"
