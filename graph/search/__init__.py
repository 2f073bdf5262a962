"""The root `search`: one ranked list across venues and media, for a global search box."""
