"""``setup/common.sh`` on a user's machine: the Odoo tree it fetches when none is there,
and the durability of the PostgreSQL cluster it makes for ``setup/run``.

Each test runs the project's own shell functions in a temporary directory: a local bare
repository stands in for Odoo's (no network), and a throw-away cluster on its own port
and socket stands in for ``$FINSYNC_HOME/pgdata`` (the shared cluster is never touched).
"""

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COMMON = REPO / "setup" / "common.sh"
PG_PORT = 5442  # the cluster these tests start; another free port when it is taken

RELEASE_18 = "version_info = (18, 0, 0, 'final', 0, '')\n"
RELEASE_17 = "version_info = (17, 0, 0, 'final', 0, '')\n"


def run_common(script, env, timeout=120):
    """Runs ``script`` in bash after sourcing setup/common.sh with ``env`` added."""
    done = subprocess.run(
        ["bash", "-c", f'source "{COMMON}"; {script}'],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def git(*args, cwd=None):
    subprocess.run(
        ["git", "-c", "user.name=FinSync test", "-c", "user.email=test@finsync.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        timeout=60,
    )


def fake_odoo_repository(root, release=RELEASE_18, branch="18.0"):
    """A bare repository with a tiny Odoo-like tree on ``branch``; returns its file:// URL."""
    work = root / "odoo-work"
    (work / "odoo").mkdir(parents=True)
    (work / "odoo" / "__init__.py").write_text("")
    (work / "odoo" / "release.py").write_text(release)
    (work / "setup.py").write_text("from setuptools import setup\n\nsetup(name='odoo')\n")
    (work / "odoo-bin").write_text("#!/usr/bin/env python3\n")
    (work / "requirements.txt").write_text("")
    git("init", "--quiet", "--initial-branch", branch, str(work))
    git("add", "-A", cwd=work)
    git("commit", "--quiet", "-m", "Odoo stand-in", cwd=work)
    git("clone", "--quiet", "--bare", str(work), str(root / "odoo.git"))
    shutil.rmtree(work)
    return f"file://{root / 'odoo.git'}"


def fetch(odoo_src, url):
    return run_common(
        "ensure_odoo_src",
        {"ODOO_SRC": str(odoo_src), "FINSYNC_ODOO_GIT_URL": url},
    )


def leftovers(parent, *expected):
    return sorted(path.name for path in parent.iterdir() if path.name not in expected)


def error_lines(stderr):
    assert all(line.startswith("finsync: ") for line in stderr.splitlines()), stderr
    return [line for line in stderr.splitlines() if line.startswith("finsync: error: ")]


# ----------------------------------------------------------------------
# Odoo 18.0 fetched when ODOO_SRC holds no tree
# ----------------------------------------------------------------------
@pytest.mark.parametrize("empty_dir", [False, True], ids=["missing", "empty directory"])
def test_fetches_odoo_18_into_odoo_src(tmp_path, empty_dir):
    url = fake_odoo_repository(tmp_path)
    parent = tmp_path / "opt"
    odoo_src = parent / "odoo-18.0"
    if empty_dir:
        odoo_src.mkdir(parents=True)
    code, _out, err = fetch(odoo_src, url)
    assert code == 0, err
    assert (odoo_src / "odoo" / "release.py").read_text() == RELEASE_18
    assert (odoo_src / "setup.py").is_file()
    assert f"fetching Odoo 18.0 community from {url}" in err
    assert leftovers(parent, "odoo-18.0") == [], "a staging directory was left behind"
    # A second run finds the tree and fetches nothing, even with the source gone.
    code, _out, err = fetch(odoo_src, f"file://{tmp_path / 'gone.git'}")
    assert code == 0, err
    assert "fetching" not in err


def test_refused_fetch_says_what_to_put_where_and_leaves_nothing(tmp_path):
    parent = tmp_path / "opt"
    odoo_src = parent / "odoo-18.0"
    code, _out, err = fetch(odoo_src, f"file://{tmp_path / 'missing.git'}")
    assert code == 1
    [error] = error_lines(err)
    assert error.startswith("finsync: error: could not fetch Odoo 18.0 from file://")
    assert f"put an Odoo 18.0 community tree at ODOO_SRC={odoo_src}" in error
    assert "set ODOO_SRC to one" in error
    assert not odoo_src.exists()
    assert leftovers(parent) == []


def test_refuses_a_branch_that_is_not_odoo_18(tmp_path):
    url = fake_odoo_repository(tmp_path, release=RELEASE_17)
    parent = tmp_path / "opt"
    odoo_src = parent / "odoo-18.0"
    code, _out, err = fetch(odoo_src, url)
    assert code == 1
    [error] = error_lines(err)
    assert "is not Odoo 18.0 (version_info = (17, 0," in error
    assert f"ODOO_SRC={odoo_src}" in error
    assert not odoo_src.exists()
    assert leftovers(parent) == []


def test_a_present_directory_is_only_checked(tmp_path):
    """What stands at ODOO_SRC is never replaced: check_odoo_src's errors, as before."""
    refused = f"file://{tmp_path / 'missing.git'}"
    older = tmp_path / "odoo-17.0"
    (older / "odoo").mkdir(parents=True)
    (older / "odoo" / "release.py").write_text(RELEASE_17)
    (older / "setup.py").write_text("")
    code, _out, err = fetch(older, refused)
    assert code == 1
    assert error_lines(err) == [
        f"finsync: error: ODOO_SRC={older} is not Odoo 18.0 ({RELEASE_17.strip()}): "
        "set ODOO_SRC to an Odoo 18.0 tree"
    ]
    other = tmp_path / "something-else"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    code, _out, err = fetch(other, refused)
    assert code == 1
    [error] = error_lines(err)
    assert error.startswith(f"finsync: error: no Odoo source tree at ODOO_SRC={other}")
    assert sorted(path.name for path in other.iterdir()) == ["notes.txt"]


# ----------------------------------------------------------------------
# The cluster setup/run serves from
# ----------------------------------------------------------------------
def free_pg_port():
    for port in (PG_PORT, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise AssertionError("no free port")


@pytest.fixture
def pg_home():
    """A FINSYNC_HOME for a throw-away cluster, readable by PostgreSQL's user when run as
    root; the cluster is stopped and removed afterwards."""
    home = Path(tempfile.mkdtemp(prefix="finsync-pg-test-"))
    home.chmod(0o755)
    env = {
        "FINSYNC_HOME": str(home),
        "FINSYNC_PGDATA": str(home / "pgdata"),
        "FINSYNC_PG_SOCKET": str(home / "run"),
        "FINSYNC_PG_PORT": str(free_pg_port()),
        "PGOPTIONS": "",
    }
    yield env
    run_common('_as_pg_owner "$PG_BIN/pg_ctl" -D "$FINSYNC_PGDATA" -m immediate stop', env)
    shutil.rmtree(home, ignore_errors=True)


SHOW = (
    "psql -U postgres -d postgres -tAc 'SHOW fsync; SHOW data_checksums; SHOW synchronous_commit'"
)


def test_new_cluster_has_fsync_and_checksums(pg_home):
    code, out, err = run_common(
        f"ensure_postgres >/dev/null 2>&1; report_pg_durability; {SHOW}; "
        f"relax_commit_durability; {SHOW}",
        pg_home,
    )
    assert code == 0, err
    assert out.split() == ["on", "on", "on", "on", "on", "off"]
    assert err == "", "a durable cluster needs no advice"


def test_older_cluster_is_not_rewritten_but_told_what_to_do(pg_home):
    """A cluster made without checksums and started with fsync=off, as setup did before."""
    data = pg_home["FINSYNC_PGDATA"]
    code, _out, err = run_common(
        'mkdir -p "$FINSYNC_PGDATA" "$FINSYNC_PG_SOCKET"; '
        'chown "$(_pg_owner)" "$FINSYNC_PGDATA" "$FINSYNC_PG_SOCKET"; '
        '_as_pg_owner "$PG_BIN/initdb" -D "$FINSYNC_PGDATA" -U postgres -A trust --no-sync '
        ">/dev/null; "
        '_as_pg_owner "$PG_BIN/pg_ctl" -D "$FINSYNC_PGDATA" -l "$FINSYNC_PGDATA/server.log" -w '
        '-o "-p $FINSYNC_PG_PORT -k $FINSYNC_PG_SOCKET -c listen_addresses=127.0.0.1 -c fsync=off" '
        "start >/dev/null",
        pg_home,
    )
    assert code == 0, err
    code, out, err = run_common(f"ensure_postgres; report_pg_durability; {SHOW}", pg_home)
    assert code == 0, err
    assert out.split() == ["off", "off", "on"], "setup changed the user's cluster"
    lines = err.splitlines()
    assert any(
        "runs with fsync=off (started by an older setup)" in line
        and f"pg_ctl stop -D {data}" in line
        for line in lines
    ), err
    assert any(
        f"{data} has no data checksums" in line and f"pg_checksums --enable -D {data}" in line
        for line in lines
    ), err
