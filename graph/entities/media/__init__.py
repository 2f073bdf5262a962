"""Media: the `Media` type, its filters and orders, the `media` root and the media mutations."""
