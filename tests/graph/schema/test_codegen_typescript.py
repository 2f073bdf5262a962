"""A typed TypeScript client generates from `schema.graphql` + `graph/operations`, strictly.

GraphQL Code Generator (`typescript-operations` 6, which needs no `typescript` plugin beside
it) runs with `strictScalars` and the mapping the README gives: `DateTime` and `Decimal` are
strings, as they travel. `tsc --strict` then compiles code that uses the client as intended,
and refuses code that takes an amount for a number or a start time for a `Date`.

The npm packages (pinned by `typescript_client/package-lock.json`) are installed once per lock
file into a cache folder (`SARTIQ_TEST_CACHE`, else `~/.cache/sartiq-graph`) and reused; the
test is skipped only when node or npm is missing.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = Path(__file__).resolve().parent / "typescript_client"
NPM_TIMEOUT_SECONDS = 300
TOOL_TIMEOUT_SECONDS = 120

# The scalar mapping of README.md and docs/scalars.md.
SCALARS = {"DateTime": "string", "Decimal": "string", "GeoJSON": "unknown", "JSON": "unknown"}

CORRECT_USE = """
import type {
  BookingStatus,
  CreateBookingMutationVariables,
  HostDashboardQuery,
  MyBookingsQuery,
  VenueCardFragment,
  VenueDetailsQuery,
  VenueSearchListQueryVariables,
} from "./graphql";

// Decimal travels as a string: whole cents, computed without a float.
export function cents(amount: string): bigint {
  const [whole, fraction = ""] = amount.split(".");
  return BigInt(whole) * 100n + BigInt(fraction.padEnd(2, "0").slice(0, 2));
}

export function firstBooking(data: VenueDetailsQuery): { amount: string; startsAt: string } | null {
  const booking = data.venue?.bookings.edges[0]?.node;
  if (booking === undefined) {
    return null;
  }
  const amount: string = booking.amount;
  const startsAt: string = booking.startsAt;
  return { amount, startsAt };
}

export function startsAt(data: VenueDetailsQuery): Date[] {
  return (data.venue?.bookings.edges ?? []).map((edge) => new Date(edge.node.startsAt));
}

export function revenue(data: HostDashboardQuery): bigint {
  return data.bookingStats.reduce((sum, bucket) => sum + cents(bucket.completedRevenue), 0n);
}

export function pending(data: MyBookingsQuery): string[] {
  const wanted: BookingStatus = "PENDING";
  return data.bookings.edges.filter((e) => e.node.status === wanted).map((e) => e.node.id);
}

export function card(venue: VenueCardFragment): string {
  const host = venue.owner?.displayName ?? "?";
  return `${venue.name}: ${venue.hourlyRate} ${venue.currency} (${host})`;
}

export const search: VenueSearchListQueryVariables = {
  filter: { city: "Paris", hourlyRate: { min: "30.00", max: "100.00" } },
  orderBy: "HOURLY_RATE_ASC",
  first: 20,
};

export const booking: CreateBookingMutationVariables = {
  input: {
    venueId: "VmVudWU6MDE5",
    startsAt: "2031-05-01T09:00:00+00:00",
    endsAt: "2031-05-01T11:00:00Z",
  },
};
"""

# Each line marked `// wrong:` must be where tsc reports an error, and nowhere else.
WRONG_USE = """
import type { VenueDetailsQuery, VenueSearchListQueryVariables } from "./graphql";

export function misuse(data: VenueDetailsQuery, search: VenueSearchListQueryVariables): void {
  const booking = data.venue!.bookings.edges[0]!.node;
  const amount: number = booking.amount; // wrong: a Decimal is a string
  const start: Date = booking.startsAt; // wrong: a DateTime is a string
  const rate: number = data.venue!.hourlyRate; // wrong: a Decimal is a string
  const name: string = data.venue!.nmae; // wrong: no such field selected
  const status: "BOOKED" = booking.status; // wrong: not a BookingStatus
  const city: string = data.venue.city; // wrong: venue may be null
  search.filter = { hourlyRate: { max: 80 } }; // wrong: send amounts as strings
  return void [amount, start, rate, name, status, city];
}
"""


def _run(command: list[str], cwd: Path, timeout: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed tools, paths made by the test
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def _cache_root() -> Path:
    configured = os.environ.get("SARTIQ_TEST_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "sartiq-graph"


@pytest.fixture(scope="module")
def toolchain() -> Path:
    """A folder with the fixture's node_modules installed (once per lock file)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to generate and type-check the TypeScript client")
    lock = (FIXTURE / "package-lock.json").read_bytes()
    manifest = (FIXTURE / "package.json").read_bytes()
    key = hashlib.sha256(manifest + lock).hexdigest()[:16]
    target = _cache_root() / f"typescript-client-{key}"
    if (target / "node_modules" / ".bin" / "tsc").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Installed beside the target and renamed into place, so a half install is never reused
    # and two test runs at once both end with one complete folder.
    scratch = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
    try:
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(FIXTURE / name, scratch / name)
        install = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
        result = _run(install, scratch, NPM_TIMEOUT_SECONDS)
        assert result.returncode == 0, f"npm ci failed:\n{result.stdout}\n{result.stderr}"
        try:
            scratch.rename(target)
        except OSError:  # another run finished first: keep its folder
            assert (target / "node_modules" / ".bin" / "tsc").exists()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


@pytest.fixture(scope="module")
def generated(toolchain: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding `graphql.ts`, generated from the schema and the operations."""
    out = tmp_path_factory.mktemp("typescript-client")
    config = {
        "overwrite": True,
        "schema": str(ROOT / "schema.graphql"),
        "documents": str(ROOT / "graph" / "operations" / "*.graphql"),
        "generates": {
            str(out / "graphql.ts"): {
                "plugins": ["typescript-operations"],
                "config": {"strictScalars": True, "scalars": SCALARS},
            }
        },
    }
    (out / "codegen.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    codegen = str(toolchain / "node_modules" / ".bin" / "graphql-codegen")
    # Run from the toolchain's folder: codegen resolves its plugins from the working directory.
    result = _run([codegen, "--config", str(out / "codegen.json")], toolchain, TOOL_TIMEOUT_SECONDS)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def _tsc(toolchain: Path, folder: Path, *files: str) -> subprocess.CompletedProcess[str]:
    tsc = str(toolchain / "node_modules" / ".bin" / "tsc")
    # No DOM and no checking of TypeScript's own declarations: a third of the time, same verdict.
    options = ["--strict", "--noEmit", "--pretty", "false", "--skipLibCheck"]
    options += ["--target", "es2022", "--lib", "es2022", "--module", "esnext"]
    return _run([tsc, *options, *files], folder, TOOL_TIMEOUT_SECONDS)


def test_generated_types_carry_the_scalar_mapping(generated):
    source = (generated / "graphql.ts").read_text(encoding="utf-8")
    details = re.search(r"export type VenueDetailsQuery = (.*);", source)
    assert details is not None, "no VenueDetailsQuery type"
    assert "amount: string" in details.group(1)
    assert "startsAt: string" in details.group(1)
    assert "hourlyRate: string" in details.group(1)
    code = re.sub(r"/\*.*?\*/", "", source, flags=re.DOTALL)  # descriptions may say "any"
    assert re.search(r"\bany\b", code) is None, "strictScalars lets nothing become `any`"


def test_correct_use_compiles_and_wrong_use_does_not(toolchain, generated):
    (generated / "correct.ts").write_text(CORRECT_USE, encoding="utf-8")
    (generated / "wrong.ts").write_text(WRONG_USE, encoding="utf-8")
    started = time.monotonic()
    result = _tsc(toolchain, generated, "graphql.ts", "correct.ts", "wrong.ts")
    elapsed = time.monotonic() - started

    reported = re.findall(r"^(\S+?\.ts)\((\d+),\d+\): error (TS\d+)", result.stdout, re.MULTILINE)
    assert reported, f"tsc found nothing wrong:\n{result.stdout}{result.stderr}"
    assert {file for file, _, _ in reported} == {"wrong.ts"}, result.stdout
    wrong_lines = {
        number for number, line in enumerate(WRONG_USE.splitlines(), 1) if "// wrong:" in line
    }
    assert {int(line) for _, line, _ in reported} == wrong_lines, result.stdout
    # The headline case, as TypeScript words it.
    assert "Type 'string' is not assignable to type 'number'" in result.stdout
    assert elapsed < 60, f"tsc took {elapsed:.1f} s"
