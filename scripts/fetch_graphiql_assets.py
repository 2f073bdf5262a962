"""Copy GraphiQL's scripts and styles from npm into graph/static/graphiql/, checked by hash.

The work is done by graph/http/graphiql_assets.py (the app calls it at startup too); this is
its command line, run by the bootstrap. Without npm it installs Debian's `npm` when run as
root on Debian, else exits 2 saying so (GraphiQL then uses the CDN).

Exit status: 0 ready, 1 failed (a download or a hash), 2 npm unavailable.
"""  # noqa: INP001 - a script run by path, not a package

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    # Importable only once ROOT is on the path; standard library only, so it starts fast.
    from graph.http.graphiql_assets import main

    sys.exit(main())
