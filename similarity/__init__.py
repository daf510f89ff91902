"""Pure similarity: MinHash signatures, near-duplicate verification and canonical choice, story grouping and
monitor queries. No I/O, no SQL."""
