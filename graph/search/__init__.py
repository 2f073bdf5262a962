"""Full-text search: the root `search` across venues and media, ranked connections, highlights."""
