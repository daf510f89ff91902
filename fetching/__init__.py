"""I/O that brings documents in: local files (files.py), HTTP (fetch.py, httpx) and listings fetched and expanded
(discover.py). Parsing and extraction stay in extractors/."""
