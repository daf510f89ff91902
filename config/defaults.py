"""Defaults shared by the layers above (extraction, fetching, settings); imports nothing of the project."""

DEFAULT_MAX_BYTES = 10 * 1024 * 1024  # a document (file or response body) over this is a reject `too_large`
MIN_PROBABILITY = 0.70  # langdetect's probability under which a text's language is left NULL
