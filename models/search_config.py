"""The one text-search configuration every `search` vector and query uses.

`sartiq` is PostgreSQL's `english` configuration with `unaccent` in front of the stemmer, so
"cafe" matches "Café". It is created by the migrations; its name is passed as a literal
`regconfig` so generated columns and GIN indexes stay immutable.
"""

TEXT_SEARCH_CONFIG = "sartiq"

VENUE_SEARCH_VECTOR = (
    "setweight(to_tsvector('sartiq'::regconfig, coalesce(name, '')), 'A') || "
    "setweight(to_tsvector('sartiq'::regconfig, coalesce(city, '')), 'B') || "
    "setweight(jsonb_to_tsvector('sartiq'::regconfig, amenities, '[\"key\"]'::jsonb), 'B') || "
    "setweight(to_tsvector('sartiq'::regconfig, coalesce(description, '')), 'C')"
)

MEDIA_SEARCH_VECTOR = (
    "setweight(to_tsvector('sartiq'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('sartiq'::regconfig, sartiq_tags_text(tags)), 'B') || "
    "setweight(to_tsvector('sartiq'::regconfig, coalesce(caption, '')), 'C')"
)
