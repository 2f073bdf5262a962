#!/usr/bin/env bash
# Prepare this machine for Sartiq Graph: uv and the locked Python environment,
# a PostgreSQL 15+ server with PostGIS and the extensions the schema uses, and a
# DATABASE_URL that can log in. Installs what is missing where it can (root on
# Debian/Ubuntu); otherwise stops with one line saying what to install.
# Idempotent; does nothing but checks when everything is already in place.
#
# DATABASE_URL: from the environment, else from .env, else the default below.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly T0=${EPOCHREALTIME/[.,]/}
readonly DEFAULT_URL='postgresql+asyncpg://postgres@localhost:5432/sartiq'
readonly EXTENSIONS=(postgis btree_gist pg_trgm unaccent pg_stat_statements)
readonly MIN_PG=15
readonly APP_ROLE=sartiq
export PGCONNECT_TIMEOUT=5
export DEBIAN_FRONTEND=noninteractive

say() { printf 'bootstrap: %s\n' "$*"; }
die() {
    printf 'bootstrap: ERROR: %s\n' "$*" >&2
    exit 1
}
is_root() { [[ $(id -u) -eq 0 ]]; }
# `sudo scripts/bootstrap.sh` in a user's checkout: leave uv and .venv to that user.
sudo_for_owner() { is_root && [[ -n ${SUDO_USER:-} && $SUDO_USER != root && $(stat -c %U .) == "$SUDO_USER" ]]; }
is_debian() { [[ -f /etc/debian_version && -x $(command -v apt-get || echo /nonexistent) ]]; }
can_apt() { is_root && is_debian; }

APT_UPDATED=
apt_install() {
    if [[ -z $APT_UPDATED ]]; then
        say "apt-get update"
        apt-get update -qq
        APT_UPDATED=1
    fi
    say "apt-get install $*"
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ---------------------------------------------------------------- 1. uv ----
ensure_uv() {
    local userbin
    if command -v uv >/dev/null; then return; fi
    for userbin in "$HOME/.local/bin" "$(python3 -m site --user-base 2>/dev/null)/bin"; do
        if [[ -x $userbin/uv ]]; then
            export PATH="$userbin:$PATH"
            return
        fi
    done
    if ! command -v python3 >/dev/null || ! python3 -m pip --version >/dev/null 2>&1; then
        can_apt || die "uv is missing and so is python3/pip to install it: install python3 (>= 3.11) and python3-pip, or uv itself"
        apt_install python3 python3-pip python3-venv
    fi
    python3 -c 'import sys; raise SystemExit(sys.version_info < (3, 11))' ||
        die "Python >= 3.11 is required (python3 is $(python3 -V 2>&1)): install python3.11 or newer"
    say "installing uv from PyPI (pip install --user uv)"
    # --user lands in ~/.local/bin; PEP 668 only guards the system site-packages.
    PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 \
        python3 -m pip install --user --quiet uv
    userbin="$(python3 -m site --user-base)/bin"
    export PATH="$userbin:$PATH"
    command -v uv >/dev/null || die "pip installed uv but it is not in $userbin: add that folder to PATH"
}

sync_python() {
    local venv=${UV_PROJECT_ENVIRONMENT:-.venv}
    if [[ ! -x $venv/bin/python ]] && ! uv python find '>=3.11' >/dev/null 2>&1; then
        die "no Python >= 3.11 found for the virtualenv: install python3.11 or newer (Debian 12 / Ubuntu 24.04: python3)"
    fi
    uv sync --frozen --quiet
    PY=$venv/bin/python
    UV_INFO="$(uv --version | awk '{print $1, $2}'), .venv synced; "
}

# -------------------------------------------------------- 2. configuration -
# Python helpers, run with the project's interpreter (urllib parses URLs properly).
py() {
    "$PY" - "$@" <<'PY'
import os, shlex, sys, urllib.parse as up

def parse(url):
    u = up.urlsplit(url)
    return u, (u.hostname or ""), (u.port or 5432)

def envfile_url(path=".env"):
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except FileNotFoundError:
        return None
    found = None
    for line in lines:
        s = line.strip()
        if s.startswith("export "):
            s = s[7:].lstrip()
        if s.startswith("DATABASE_URL="):
            v = s.split("=", 1)[1].strip()
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
                v = v[1:-1]
            found = v
    return found

def describe(url, src):
    u, host, port = parse(url)
    scheme = u.scheme.split("+", 1)[0]
    if scheme not in ("postgresql", "postgres"):
        sys.exit(f"bootstrap: ERROR: DATABASE_URL ({src}) must start with postgresql+asyncpg://")
    # psql: the same server and credentials, driver removed, maintenance database.
    psql = up.urlunsplit((scheme, u.netloc, "/postgres", u.query, ""))
    safe_netloc = u.netloc
    if u.password is not None:
        userinfo, hostport = u.netloc.rsplit("@", 1)
        safe_netloc = userinfo.split(":", 1)[0] + ":***@" + hostport
    out = {
        "DB_URL": url,
        "DB_SRC": src,
        "DB_HOST": host,
        "DB_PORT": str(port),
        "DB_USER": u.username or "",
        "DB_HAS_PW": "1" if u.password else "",
        "PSQL_URL": psql,
        "SAFE_URL": up.urlunsplit((u.scheme, safe_netloc, u.path, u.query, "")),
    }
    for k, v in out.items():
        print(f"{k}={shlex.quote(v)}")

cmd = sys.argv[1]
if cmd == "config":
    url, src = os.environ.get("DATABASE_URL") or "", "environment"
    if not url:
        url, src = envfile_url() or "", ".env"
    if not url:
        url, src = sys.argv[2], "default"
    describe(url, src)
elif cmd == "describe":
    describe(sys.argv[2], sys.argv[3])
elif cmd == "envfile-url":
    print(envfile_url() or "")
elif cmd == "with-login":  # url user password -> url
    u, host, port = parse(sys.argv[2])
    hostport = u.netloc.rsplit("@", 1)[-1]
    netloc = f"{up.quote(sys.argv[3], safe='')}:{up.quote(sys.argv[4], safe='')}@{hostport}"
    print(up.urlunsplit((u.scheme, netloc, u.path, u.query, u.fragment)))
elif cmd == "write-env":  # url: replace/add the DATABASE_URL line, keep the others
    path, url = ".env", sys.argv[2]
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except FileNotFoundError:
        lines = []
    keep = [l for l in lines if not l.strip().removeprefix("export ").lstrip().startswith("DATABASE_URL=")]
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join([*keep, f"DATABASE_URL={url}"]) + "\n")
    os.chmod(path + ".tmp", 0o600)
    os.replace(path + ".tmp", path)
PY
}

load_config() {
    local cfg
    cfg=$(py config "$DEFAULT_URL") || exit 1
    eval "$cfg"
    case $DB_HOST in
        '' | localhost | 127.0.0.1 | ::1) DB_LOCAL=1 ;;
        *) DB_LOCAL= ;;
    esac
}

# ------------------------------------------------------ PostgreSQL helpers -
# Query with the configured credentials; prints the rows, fails quietly.
q() {
    local url=$1
    shift
    psql -X -v ON_ERROR_STOP=1 -Atq -w -F '|' -d "$url" -c "$*"
}

# Try to log in; on failure CONNECT_ERR holds psql's first line.
try_connect() {
    local err
    if err=$(q "$1" 'select 1' 2>&1 >/dev/null); then return 0; fi
    CONNECT_ERR=$(printf '%s\n' "$err" | sed -e '1!d' -e 's/^psql: error: //')
    return 1
}

pg_answers() {
    if command -v pg_isready >/dev/null; then
        local hostarg=()
        [[ -n $DB_HOST ]] && hostarg=(-h "$DB_HOST")
        pg_isready -q "${hostarg[@]}" -p "$DB_PORT" -t 3 2>/dev/null
    else
        timeout 3 bash -c ": >/dev/tcp/${DB_HOST:-localhost}/$DB_PORT" 2>/dev/null
    fi
}

wait_ready() {
    local i
    for ((i = 0; i < 60; i++)); do
        pg_answers && return 0
        sleep 0.5
    done
    die "PostgreSQL at ${DB_HOST:-localhost}:$DB_PORT did not come up within 30 s (see pg_lsclusters and its log)"
}

pg_installed() { compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; }

# The Debian cluster serving DB_PORT: sets CL_VER CL_NAME CL_OWNER.
find_cluster() {
    CL_VER='' CL_NAME='' CL_OWNER=''
    command -v pg_lsclusters >/dev/null || return 1
    read -r CL_VER CL_NAME _ _ CL_OWNER _ < <(pg_lsclusters -h 2>/dev/null | awk -v p="$DB_PORT" '$3 == p' | head -n1) || true
    [[ -n $CL_NAME ]]
}

pg_ctl_cluster() { # start|restart
    find_cluster || die "no Debian cluster on port $DB_PORT to $1 (pg_lsclusters): $1 PostgreSQL yourself"
    if ! is_root && [[ $(id -un) != "$CL_OWNER" ]]; then
        die "PostgreSQL cluster $CL_VER/$CL_NAME needs a $1: run sudo pg_ctlcluster $CL_VER $CL_NAME $1 (or sudo scripts/bootstrap.sh)"
    fi
    say "pg_ctlcluster $CL_VER $CL_NAME $1"
    pg_ctlcluster --skip-systemctl-redirect "$CL_VER" "$CL_NAME" "$1"
    wait_ready
}

# As the cluster's OS owner over the Unix socket (peer auth), root only.
owner_psql() {
    (cd / && runuser -u "$CL_OWNER" -- psql --cluster "$CL_VER/$CL_NAME" -X -v ON_ERROR_STOP=1 -Atq -d postgres "$@")
}

# ------------------------------------------------------ 3. PostgreSQL up ---
distro_pg_major() {
    apt-cache depends postgresql 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^postgresql-[0-9]+$/ { sub("postgresql-", "", $2); print $2; exit }'
}

ensure_server() {
    local major
    if [[ -z $DB_LOCAL ]]; then
        pg_answers || die "no PostgreSQL answers at $DB_HOST:$DB_PORT (DATABASE_URL from $DB_SRC): start it or fix DATABASE_URL"
        return
    fi
    pg_answers && return
    if ! find_cluster; then
        if ! pg_installed; then
            if ! is_debian; then
                die "PostgreSQL is not running on localhost:$DB_PORT: install PostgreSQL $MIN_PG+ with PostGIS 3 (automatic install needs Debian/Ubuntu), or set DATABASE_URL"
            fi
            major=$(distro_pg_major)
            is_root || die "PostgreSQL is not installed: install postgresql and postgresql-${major:-$MIN_PG}-postgis-3 (sudo apt-get install ..., or sudo scripts/bootstrap.sh), or set DATABASE_URL"
            if [[ -z $APT_UPDATED ]]; then say "apt-get update"; apt-get update -qq; APT_UPDATED=1; fi
            major=$(distro_pg_major)
            [[ -n $major ]] || die "apt knows no postgresql package: install PostgreSQL $MIN_PG+ with PostGIS 3, or set DATABASE_URL"
            ((major >= MIN_PG)) || die "this distribution ships PostgreSQL $major but Sartiq needs $MIN_PG+: install PostgreSQL $MIN_PG+ (e.g. from the PostgreSQL apt repository), or set DATABASE_URL"
            apt_install postgresql "postgresql-$major-postgis-3"
        fi
        if ! find_cluster && ! pg_answers; then
            if [[ -z $(pg_lsclusters -h 2>/dev/null) ]] && is_root; then
                major=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -n | tail -n1)
                say "pg_createcluster $major main --port $DB_PORT"
                pg_createcluster "$major" main --port "$DB_PORT" >/dev/null
                find_cluster
            else
                die "PostgreSQL is installed but no cluster uses port $DB_PORT ($(pg_lsclusters -h 2>/dev/null | awk '{printf "%s%s/%s:%s", (NR > 1 ? ", " : ""), $1, $2, $3}')): fix the port in DATABASE_URL or create one with pg_createcluster"
            fi
        fi
    fi
    pg_answers || pg_ctl_cluster start
}

ensure_client() {
    command -v psql >/dev/null && return
    can_apt || die "psql is missing: install postgresql-client"
    apt_install postgresql-client
}

# ---------------------------------------------------- 6. authentication ----
ensure_login() {
    try_connect "$PSQL_URL" && return
    local why=$CONNECT_ERR host=$DB_HOST port=$DB_PORT saved pw new
    # A second run with the same broken environment URL: .env already has a working one.
    if [[ $DB_SRC == environment ]]; then
        saved=$(py envfile-url)
        if [[ -n $saved ]] && (
            eval "$(py describe "$saved" .env)"
            [[ $DB_HOST == "$host" && $DB_PORT == "$port" ]] && try_connect "$PSQL_URL"
        ); then
            die "DATABASE_URL in the environment cannot log in ($why) but the one in .env can: unset DATABASE_URL"
        fi
    fi
    if [[ -z $DB_LOCAL ]] || ! is_root || ! find_cluster ||
        { [[ -n $DB_HAS_PW ]] && ! [[ $DB_SRC == .env && $DB_USER == "$APP_ROLE" ]]; }; then
        local hint=
        if [[ -n $DB_LOCAL && -z $DB_HAS_PW ]] && ! is_root; then
            hint="; run sudo scripts/bootstrap.sh once (it creates a password role and writes .env), or put a working DATABASE_URL in .env"
        fi
        die "cannot log in with DATABASE_URL from $DB_SRC ($SAFE_URL): $why$hint"
    fi
    say "$SAFE_URL cannot log in ($why): creating role $APP_ROLE with a password via the local socket"
    pw=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
    owner_psql <<SQL
DO \$\$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = '$APP_ROLE') THEN
    ALTER ROLE $APP_ROLE WITH LOGIN SUPERUSER CREATEDB PASSWORD '$pw';
  ELSE
    CREATE ROLE $APP_ROLE WITH LOGIN SUPERUSER CREATEDB PASSWORD '$pw';
  END IF;
END \$\$;
SQL
    new=$(py with-login "$DB_URL" "$APP_ROLE" "$pw")
    local src=$DB_SRC old=$SAFE_URL
    eval "$(py describe "$new" .env)"
    try_connect "$PSQL_URL" ||
        die "created role $APP_ROLE but it cannot log in at ${DB_HOST}:$DB_PORT ($CONNECT_ERR): pg_hba.conf must allow password logins over TCP (this script never edits it)"
    py write-env "$new"
    if is_root && [[ $(stat -c %u .) != 0 ]]; then chown --reference=. .env; fi
    say "wrote DATABASE_URL for role $APP_ROLE to .env"
    if [[ $src == environment ]]; then
        die "DATABASE_URL in the environment ($old) cannot log in and overrides the working one now in .env: unset DATABASE_URL and re-run"
    fi
}

# ------------------------------------- 4./5. extensions and preloading -----
server_facts() {
    local names row
    names=$(printf "'%s'," "${EXTENSIONS[@]}")
    row=$(q "$PSQL_URL" "
        select current_setting('server_version_num'), current_setting('server_version'),
               current_setting('shared_preload_libraries'), rolsuper,
               (select string_agg(name, ',' order by name) from pg_available_extensions where name in (${names%,})),
               coalesce((select default_version from pg_available_extensions where name = 'postgis'), '')
        from pg_roles where rolname = current_user") || die "cannot query the server with $SAFE_URL"
    IFS='|' read -r VNUM VERSION SPL IS_SUPER AVAIL POSTGIS_V <<<"$row"
    MAJOR=$((VNUM / 10000))
    VERSION=${VERSION%% *}
}

has_ext() { [[ ",$AVAIL," == *",$1,"* ]]; }

ensure_extensions() {
    local missing=() e
    ((MAJOR >= MIN_PG)) || die "the server at ${DB_HOST:-localhost}:$DB_PORT runs PostgreSQL $VERSION; Sartiq needs $MIN_PG+"
    if ! has_ext postgis; then
        if [[ -n $DB_LOCAL ]] && can_apt && [[ -d /usr/lib/postgresql/$MAJOR ]]; then
            apt_install "postgresql-$MAJOR-postgis-3"
            server_facts
        fi
        has_ext postgis || die "PostGIS is not available on the server at ${DB_HOST:-localhost}:$DB_PORT: install postgresql-$MAJOR-postgis-3 there"
    fi
    for e in "${EXTENSIONS[@]}"; do has_ext "$e" || missing+=("$e"); done
    ((${#missing[@]} == 0)) || die "the server at ${DB_HOST:-localhost}:$DB_PORT lacks extensions ${missing[*]}: install postgresql-contrib (Debian: part of postgresql-$MAJOR)"
}

preloaded() { [[ ",${SPL// /}," == *,pg_stat_statements,* ]]; }

ensure_preload() {
    local value sql
    preloaded && return
    if [[ -z $DB_LOCAL ]]; then
        say "note: the server at $DB_HOST:$DB_PORT does not preload pg_stat_statements; add it to shared_preload_libraries there for query statistics"
        return
    fi
    # The setting is a list: one quoted literal per library, or PostgreSQL reads the whole
    # string as a single library name and the server will not start.
    local lib libs=()
    IFS=',' read -ra libs <<<"${SPL// /}"
    value=""
    for lib in "${libs[@]}" pg_stat_statements; do
        [[ -n $lib ]] && value+="${value:+, }'${lib//\'/\'\'}'"
    done
    sql="ALTER SYSTEM SET shared_preload_libraries = $value"
    # Check that we can restart before changing anything.
    if ! find_cluster || ! { is_root || [[ $(id -un) == "$CL_OWNER" ]]; } ||
        ! { [[ $IS_SUPER == t ]] || is_root; }; then
        die "PostgreSQL must preload pg_stat_statements: run sudo scripts/bootstrap.sh, or as a superuser $sql and restart the server (sudo pg_ctlcluster ${CL_VER:-$MAJOR} ${CL_NAME:-main} restart)"
    fi
    say "adding pg_stat_statements to shared_preload_libraries (was '${SPL}')"
    if [[ $IS_SUPER == t ]]; then
        q "$PSQL_URL" "$sql"
    else
        owner_psql -c "$sql"
    fi
    pg_ctl_cluster restart
    server_facts
    preloaded || die "pg_stat_statements is still not in shared_preload_libraries after the restart (is it set in postgresql.conf after the auto.conf include?)"
}

# ----------------------------------------------------------------- main ----
UV_INFO=
if sudo_for_owner; then
    PY=${UV_PROJECT_ENVIRONMENT:-.venv}/bin/python
    [[ -x $PY ]] || PY=python3
    command -v "$PY" >/dev/null || die "python3 is missing: install python3 (>= 3.11)"
else
    ensure_uv
    sync_python
fi
load_config
ensure_server
ensure_client
ensure_login
server_facts
ensure_extensions
ensure_preload
# 7. verify with the final URL
try_connect "$PSQL_URL" || die "cannot log in with $SAFE_URL: $CONNECT_ERR"
server_facts
for e in "${EXTENSIONS[@]}"; do has_ext "$e" || die "extension $e is not available"; done
preloaded || [[ -z $DB_LOCAL ]] || die "pg_stat_statements is not preloaded"
# 8. GraphiQL's scripts and styles from npm, hash-checked, so /graphql works offline.
#    Not fatal: without them GraphiQL loads from the CDN. Under sudo the owner's run does it.
if ! sudo_for_owner && ! GRAPHIQL_OUT=$("$PY" scripts/fetch_graphiql_assets.py 2>&1); then
    say "note: GraphiQL will load its scripts from the CDN (${GRAPHIQL_OUT#fetch_graphiql_assets: })"
fi
us=$((${EPOCHREALTIME/[.,]/} - T0))
secs=$((us / 1000000)).$((us / 100000 % 10))
say "ready in ${secs}s: ${UV_INFO}PostgreSQL $VERSION at ${DB_HOST:-localhost}:$DB_PORT as ${DB_USER:-$(id -un)} (DATABASE_URL from $DB_SRC); postgis $POSTGIS_V, btree_gist, pg_trgm, unaccent, pg_stat_statements$(preloaded && echo ' (preloaded)')"
