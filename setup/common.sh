# shellcheck shell=bash
# Shared by setup/run, setup/test and setup/odoo: locations, checks and installers.
# Every location can be overridden from the environment; see README.md "Configuration".

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ODOO_SRC="${ODOO_SRC:-/opt/odoo-18.0}"
FINSYNC_HOME="${FINSYNC_HOME:-/var/lib/finsync}"
FINSYNC_VENV="${FINSYNC_VENV:-$FINSYNC_HOME/venv}"
FINSYNC_PGDATA="${FINSYNC_PGDATA:-$FINSYNC_HOME/pgdata}"
FINSYNC_PG_SOCKET="${FINSYNC_PG_SOCKET:-$FINSYNC_HOME/run}"
FINSYNC_PG_PORT="${FINSYNC_PG_PORT:-5433}"
FINSYNC_PG_USER="${FINSYNC_PG_USER:-finsync}"
FINSYNC_HTTP_PORT="${FINSYNC_HTTP_PORT:-8069}"
FINSYNC_DB="${FINSYNC_DB:-finsync_demo}"
FINSYNC_DATA_DIR="${FINSYNC_DATA_DIR:-$FINSYNC_HOME/data}"
PG_VERSION=15
PG_BIN="/usr/lib/postgresql/$PG_VERSION/bin"
ODOO_CONFIG="$REPO_ROOT/.odoo-config"
PYTHON="${PYTHON:-python3}"

# Every installable FinSync addon, in dependency order.
finsync_addons() {
    local manifest
    for manifest in "$REPO_ROOT"/addons/*/__manifest__.py; do
        basename "$(dirname "$manifest")"
    done | sort
}

die() {
    echo "finsync: error: $*" >&2
    exit 1
}

info() {
    echo "finsync: $*" >&2
}

as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "'$*' needs root and sudo is not available: run it as root, then run this command again"
    fi
}

# --- Odoo source ----------------------------------------------------------

check_odoo_src() {
    [ -f "$ODOO_SRC/odoo/release.py" ] && [ -f "$ODOO_SRC/setup.py" ] \
        || die "no Odoo source tree at ODOO_SRC=$ODOO_SRC (expected odoo/release.py and setup.py there): put an Odoo 18.0 community tree there or set ODOO_SRC to one"
    grep -q "^version_info = (18, 0," "$ODOO_SRC/odoo/release.py" \
        || die "ODOO_SRC=$ODOO_SRC is not Odoo 18.0 ($(grep -m1 '^version_info' "$ODOO_SRC/odoo/release.py")): set ODOO_SRC to an Odoo 18.0 tree"
}

# Where ensure_odoo_src gets Odoo 18.0 community when ODOO_SRC holds nothing.
FINSYNC_ODOO_GIT_URL="${FINSYNC_ODOO_GIT_URL:-https://github.com/odoo/odoo.git}"

# A present tree (or anything else at ODOO_SRC) is only checked, as check_odoo_src does.
# When ODOO_SRC is missing or an empty directory, a shallow clone of the 18.0 branch is
# made in a directory beside it, checked, then renamed: an interrupted, refused or wrong
# clone never stands at ODOO_SRC as if it were a tree.
ensure_odoo_src() {
    if [ -e "$ODOO_SRC" ] && { [ ! -d "$ODOO_SRC" ] || [ -n "$(ls -A "$ODOO_SRC")" ]; }; then
        check_odoo_src
        return 0
    fi
    _fetch_odoo_src
    check_odoo_src
}

_fetch_odoo_src() {
    local parent name staging version err run=()
    local hint="put an Odoo 18.0 community tree at ODOO_SRC=$ODOO_SRC (git clone --depth 1 --branch 18.0 https://github.com/odoo/odoo.git $ODOO_SRC) or set ODOO_SRC to one"
    parent="$(dirname "$ODOO_SRC")"
    name="$(basename "$ODOO_SRC")"
    command -v git >/dev/null 2>&1 || _install_git "$hint"
    mkdir -p "$parent" 2>/dev/null || as_root mkdir -p "$parent"
    # /opt belongs to root: the staging directory is made there by root, owned by the user.
    [ -w "$parent" ] || run=(as_root)
    staging="$("${run[@]}" mktemp -d "$parent/.$name.partial-XXXXXX")" \
        || die "cannot create a directory in $parent to fetch Odoo 18.0 into: $hint"
    [ "${#run[@]}" = 0 ] || as_root chown "$(id -u):$(id -g)" "$staging"
    chmod 755 "$staging"
    # shellcheck disable=SC2064  # the path is fixed now, the trap may run after return
    trap "${run[*]} rm -rf $(printf %q "$staging")" EXIT
    info "no Odoo tree at ODOO_SRC=$ODOO_SRC: fetching Odoo 18.0 community from $FINSYNC_ODOO_GIT_URL (a shallow clone of branch 18.0, a few minutes)"
    if ! err="$(GIT_TERMINAL_PROMPT=0 git clone --quiet --depth 1 --single-branch --branch 18.0 \
        "$FINSYNC_ODOO_GIT_URL" "$staging" 2>&1)"; then
        err="$(grep -m1 -E '^(fatal|error):' <<<"$err" || tail -n1 <<<"$err")"
        die "could not fetch Odoo 18.0 from $FINSYNC_ODOO_GIT_URL (git: ${err:-no message}): $hint"
    fi
    version="$(grep -m1 '^version_info' "$staging/odoo/release.py" 2>/dev/null || true)"
    if [ ! -f "$staging/setup.py" ] || [[ "$version" != "version_info = (18, 0,"* ]]; then
        die "branch 18.0 of $FINSYNC_ODOO_GIT_URL is not Odoo 18.0 (${version:-no odoo/release.py}): set FINSYNC_ODOO_GIT_URL to Odoo's repository, or $hint"
    fi
    [ ! -d "$ODOO_SRC" ] || "${run[@]}" rmdir "$ODOO_SRC"
    "${run[@]}" mv "$staging" "$ODOO_SRC"
    trap - EXIT
    info "Odoo 18.0 community is in $ODOO_SRC"
}

_install_git() {  # <hint>
    command -v apt-get >/dev/null 2>&1 || die "git is needed to fetch Odoo 18.0 and there is no apt-get: install git, or $1"
    info "installing git to fetch Odoo 18.0"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
        git ca-certificates >/dev/null
}

# --- Debian packages ------------------------------------------------------

ensure_system_packages() {
    local missing=()
    [ -x "$PG_BIN/pg_ctl" ] || missing+=("postgresql-$PG_VERSION")
    command -v pg_config >/dev/null 2>&1 || missing+=(libpq-dev)
    [ -f /usr/include/ldap.h ] || missing+=(libldap2-dev)
    [ -f /usr/include/sasl/sasl.h ] || missing+=(libsasl2-dev)
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    # A bare Debian: venv's ensurepip, and a compiler and Python's headers for psycopg2
    # and python-ldap, which are built from source.
    if [ "$PYTHON" = python3 ]; then
        python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
        python3 -c 'import os, sysconfig; assert os.path.exists(sysconfig.get_path("include") + "/Python.h")' \
            >/dev/null 2>&1 || missing+=(python3-dev)
    fi
    command -v gcc >/dev/null 2>&1 || missing+=(build-essential)
    [ "${#missing[@]}" -eq 0 ] || install_debian_packages "${missing[@]}"
}

install_debian_packages() {  # PACKAGE...
    command -v apt-get >/dev/null 2>&1 \
        || die "missing system packages ($*) and no apt-get: install them by hand"
    info "installing Debian packages: $*"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
        "$@" >/dev/null
}

# --- Python virtualenv ----------------------------------------------------

_python_stamp() {
    cat "$ODOO_SRC/requirements.txt" "$REPO_ROOT/requirements.txt" | sha256sum | cut -d' ' -f1
    echo "$ODOO_SRC"
    echo "env 2"  # raise when ensure_python_env installs differently
}

_pip_install() {
    # pip's own chatter goes to a log; its errors are shown when it fails.
    "$FINSYNC_VENV/bin/python" -m pip install --disable-pip-version-check "$@" \
        >>"$FINSYNC_HOME/pip.log" 2>&1 \
        || { tail -n 30 "$FINSYNC_HOME/pip.log" >&2; die "pip install $* failed: see $FINSYNC_HOME/pip.log"; }
}

ensure_python_env() {
    local stamp_file="$FINSYNC_VENV/.finsync-stamp" stamp
    stamp="$(_python_stamp)"
    if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ]; then
        return 0
    fi
    info "preparing the Python environment in $FINSYNC_VENV (first run takes a few minutes)"
    command -v "$PYTHON" >/dev/null 2>&1 || die "no $PYTHON on PATH: install Python 3.10 to 3.12 or set PYTHON"
    [ -x "$FINSYNC_VENV/bin/python" ] || "$PYTHON" -m venv "$FINSYNC_VENV"
    local pip=(_pip_install)
    "${pip[@]}" --upgrade pip wheel "setuptools<70"
    # psycopg2 and python-ldap have no wheels for Odoo's pins: build them against
    # the Debian headers with the old setuptools their setup.py needs.
    local odoo_reqs="$FINSYNC_HOME/odoo-requirements.txt"
    # cbor2 5.4.2 (Odoo's pin for Python < 3.12) no longer builds: 5.6.2 is API-compatible.
    sed -E 's/^cbor2==5\.4\.2.*/cbor2==5.6.2/' "$ODOO_SRC/requirements.txt" > "$odoo_reqs"
    grep -E '^(psycopg2|python-ldap)==' "$odoo_reqs" > "$FINSYNC_HOME/odoo-build-requirements.txt"
    "${pip[@]}" --no-build-isolation -r "$FINSYNC_HOME/odoo-build-requirements.txt"
    # Then a setuptools whose pkg_resources knows today's dist-info names: with the
    # old one, gevent cannot find zope.interface and Odoo's websocket process (with
    # workers) dies at start, over and over.
    "${pip[@]}" --upgrade "setuptools>=70,<80"
    "${pip[@]}" -r "$odoo_reqs"
    # Compat mode keeps the real odoo package importable next to the OCA
    # wheels that install into site-packages/odoo/addons.
    "${pip[@]}" --no-deps -e "$ODOO_SRC" --config-settings editable_mode=compat
    "${pip[@]}" -r "$REPO_ROOT/requirements.txt"
    echo "$stamp" > "$stamp_file"
}

# --- Third-party test fixtures ---------------------------------------------

# ofxparse's sdist holds the fixtures of its test suite, which FinSync's OFX reader
# must read as ofxparse's tests expect (finsync_bank/tests/test_parser_ofx_conformance.py).
# They are not ours to ship: the pinned sdist is downloaded from PyPI beside the venv.
OFXPARSE_SDIST_VERSION=0.21
OFXPARSE_SDIST_SHA256=057ab68d31270dece4d1a47662096aa76341968aaee145ffc711cb44cbd5c4a7

ensure_test_fixtures() {
    local dir="$FINSYNC_HOME/fixtures"
    local sdist="$dir/ofxparse-$OFXPARSE_SDIST_VERSION.tar.gz"
    export FINSYNC_OFXPARSE_SDIST="$sdist"
    if [ -f "$sdist" ] && echo "$OFXPARSE_SDIST_SHA256  $sdist" | sha256sum --check --status; then
        return 0
    fi
    mkdir -p "$dir"
    rm -f "$sdist"
    # Without it the conformance tests skip, saying so: a failed download is not fatal.
    if ! "$FINSYNC_VENV/bin/python" -m pip download --disable-pip-version-check --quiet \
        --no-binary :all: --no-deps "ofxparse==$OFXPARSE_SDIST_VERSION" -d "$dir" \
        >>"$FINSYNC_HOME/pip.log" 2>&1; then
        info "could not download ofxparse $OFXPARSE_SDIST_VERSION's sdist (see $FINSYNC_HOME/pip.log): the OFX conformance tests will be skipped"
        return 0
    fi
    if ! echo "$OFXPARSE_SDIST_SHA256  $sdist" | sha256sum --check --status; then
        rm -f "$sdist"
        info "the downloaded ofxparse $OFXPARSE_SDIST_VERSION sdist is not the pinned one (sha256 differs): removed, the OFX conformance tests will be skipped"
    fi
}

# --- PostgreSQL -----------------------------------------------------------

_pg_owner() {
    # PostgreSQL refuses to run as root: the Debian 'postgres' user owns the cluster then.
    if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi
}

_as_pg_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_in_use() {
    # Something answers on 127.0.0.1:$1.
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

ensure_postgres() {
    mkdir -p "$FINSYNC_HOME"
    local owner
    owner="$(_pg_owner)"
    if [ ! -f "$FINSYNC_PGDATA/PG_VERSION" ]; then
        info "creating the project's PostgreSQL cluster in $FINSYNC_PGDATA"
        mkdir -p "$FINSYNC_PGDATA"
        chown "$owner" "$FINSYNC_PGDATA"
        chmod 700 "$FINSYNC_PGDATA"
        # Local development cluster: reachable only through its socket directory
        # and 127.0.0.1, trusted there. Production uses its own PostgreSQL. Data
        # checksums: a page damaged on disk is an error, never silently wrong figures.
        _as_pg_owner "$PG_BIN/initdb" -D "$FINSYNC_PGDATA" -U postgres -A trust -E UTF8 \
            --locale=C.UTF-8 --data-checksums >/dev/null
    fi
    mkdir -p "$FINSYNC_PG_SOCKET"
    chown "$owner" "$FINSYNC_PG_SOCKET"
    if ! _as_pg_owner "$PG_BIN/pg_ctl" -D "$FINSYNC_PGDATA" status >/dev/null 2>&1; then
        if port_in_use "$FINSYNC_PG_PORT"; then
            die "port $FINSYNC_PG_PORT is in use by another program: set FINSYNC_PG_PORT to a free port for FinSync's PostgreSQL"
        fi
        info "starting PostgreSQL $PG_VERSION on 127.0.0.1:$FINSYNC_PG_PORT"
        _as_pg_owner "$PG_BIN/pg_ctl" -D "$FINSYNC_PGDATA" -l "$FINSYNC_PGDATA/server.log" -w -t 60 \
            -o "-p $FINSYNC_PG_PORT -k $FINSYNC_PG_SOCKET -c listen_addresses=127.0.0.1 -c max_connections=200" \
            start >/dev/null \
            || die "PostgreSQL did not start: see $FINSYNC_PGDATA/server.log"
    fi
    export PGHOST="$FINSYNC_PG_SOCKET" PGPORT="$FINSYNC_PG_PORT"
    if ! psql -U postgres -d postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname='$FINSYNC_PG_USER'" | grep -q 1; then
        psql -U postgres -d postgres -qc "CREATE ROLE \"$FINSYNC_PG_USER\" LOGIN CREATEDB" >/dev/null
    fi
    export PGUSER="$FINSYNC_PG_USER"
}

# What setup/run serves from is durable: fsync on (PostgreSQL's default: an OS crash
# never loses a webhook already answered 200) and data checksums (new clusters get them).
# A cluster made or started by an older setup is never rewritten: one line says what to do.
report_pg_durability() {
    local fsync checksums owner
    owner="$(_pg_owner)"
    fsync="$(psql -U postgres -d postgres -tAc 'SHOW fsync')"
    checksums="$(psql -U postgres -d postgres -tAc 'SHOW data_checksums')"
    [ "$fsync" = on ] \
        || info "PostgreSQL on port $FINSYNC_PG_PORT runs with fsync=$fsync (started by an older setup): an OS crash can lose committed data; stop it ($PG_BIN/pg_ctl stop -D $FINSYNC_PGDATA, as $owner) and run this command again"
    [ "$checksums" = on ] \
        || info "the PostgreSQL cluster in $FINSYNC_PGDATA has no data checksums (made by an older setup): to enable them, stop it ($PG_BIN/pg_ctl stop -D $FINSYNC_PGDATA) and run $PG_BIN/pg_checksums --enable -D $FINSYNC_PGDATA, both as $owner (it rewrites every data file)"
    return 0
}

# setup/test's throw-away databases and the benchmarks' databases commit without waiting
# for the WAL flush (synchronous_commit=off, for every connection of the calling script and
# its children): an OS crash can lose their last commits (under a second), never corrupt
# them. Everything else on the cluster keeps waiting for fsync.
relax_commit_durability() {
    export PGOPTIONS="${PGOPTIONS:+$PGOPTIONS }-c synchronous_commit=off"
}

db_exists() {
    psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$1'" | grep -q 1
}

# --- Odoo -----------------------------------------------------------------

odoo_bin() {
    # Runs odoo-bin from the repository root, where .odoo-config's relative
    # addons path points at our addons; PG* variables carry the connection.
    local command=()
    case "${1:-}" in shell|server|scaffold|db|neutralize|obfuscate|populate|upgrade_code) command=("$1"); shift ;; esac
    (cd "$REPO_ROOT" && "$FINSYNC_VENV/bin/python" "$ODOO_SRC/odoo-bin" "${command[@]}" -c "$ODOO_CONFIG" \
        --data-dir "$FINSYNC_DATA_DIR" "$@")
}

prepare_all() {
    ensure_odoo_src
    ensure_system_packages
    mkdir -p "$FINSYNC_HOME" "$FINSYNC_DATA_DIR"
    ensure_python_env
    ensure_postgres
}
