"""Write the served GraphQL schema to `schema.graphql`, the file frontends build on.

Run `uv run python scripts/export_schema.py` after changing the schema (`make schema`);
`--check` only compares and exits 1 when the file is stale.
"""  # noqa: INP001 - a script run by path, not a package

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "schema.graphql"


def render() -> str:
    """The schema in SDL, as `schema.graphql` holds it (one trailing newline)."""
    sys.path.insert(0, str(ROOT))
    from graph.schema.root import schema  # noqa: PLC0415 - importable only once ROOT is on the path

    return schema.as_str().rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with `--check`, compare) `schema.graphql`; the exit status is for make and CI."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    args = parser.parse_args(argv)
    sdl = render()
    if args.check:
        current = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
        if current != sdl:
            sys.stderr.write(f"{SCHEMA_FILE.name} is stale: run scripts/export_schema.py\n")
            return 1
        return 0
    SCHEMA_FILE.write_text(sdl, encoding="utf-8")
    sys.stdout.write(f"wrote {SCHEMA_FILE.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
