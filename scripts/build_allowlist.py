"""Write `graph/operations/allowlist.json`: the frontend's operations, by name, hash and text.

Run `uv run python scripts/build_allowlist.py` after changing `graph/operations/`; `--check`
only compares and exits 1 when the file is stale (a test does the same). With
`PERSISTED_QUERIES_ONLY=true` the server runs only the operations this file lists and those of
the manifests named by `PERSISTED_DOCUMENTS_MANIFESTS`.
"""  # noqa: INP001 - a script run by path, not a package

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    """Write (or with `--check`, compare) the allow-list; the exit status is for make and CI."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from graph.schema.persisted_queries import ALLOWLIST_FILE, render_allowlist  # noqa: PLC0415 - importable only once ROOT is on the path

    text = render_allowlist()
    if args.check:
        current = ALLOWLIST_FILE.read_text(encoding="utf-8") if ALLOWLIST_FILE.exists() else ""
        if current != text:
            sys.stderr.write(f"{ALLOWLIST_FILE.name} is stale: run scripts/build_allowlist.py\n")
            return 1
        return 0
    ALLOWLIST_FILE.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {ALLOWLIST_FILE.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
