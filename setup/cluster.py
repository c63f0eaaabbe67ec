"""``setup/cluster``: N Odoo nodes with workers on one PostgreSQL, behind nginx.

Every node is an ``odoo-bin`` with ``--workers`` (prefork) and its own gevent
process, loading ``queue_job`` server-wide (``.odoo-config``), started with
``--proxy-mode`` and the same data directory (sessions and filestore shared).
nginx, configured from ``setup/cluster-nginx.conf.template`` into
``$FINSYNC_HOME/cluster/nginx.conf``, balances HTTP over the nodes' workers and
``/websocket`` over their gevent ports.

Every node starts a job runner; queue_job's runner takes a PostgreSQL advisory
lock on the database (``PG_ADVISORY_LOCK_ID``) before it runs anything, so one
runner runs jobs and the others retry every five seconds: when the node holding
the lock dies, its connection closes, the lock goes with it and another node's
runner takes over. The runners ask for jobs through the proxy, so jobs run on
every node's workers. Which node holds the lock: ``runner_node()`` (the lock's
backend in ``pg_locks``, named by ``ODOO_PGAPPNAME``).

Ports: the proxy on ``--port``; node i (from 1) on ``port + 8 + 2 i`` (HTTP)
and ``port + 9 + 2 i`` (gevent).
"""

import argparse
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg2

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = REPO_ROOT / "setup" / "cluster-nginx.conf.template"
# queue_job.jobrunner.runner.PG_ADVISORY_LOCK_ID: the lock of the master runner.
RUNNER_LOCK_ID = 2293787760715711918
APP_PREFIX = "finsync-node"


def node_ports(port, nodes):
    """(HTTP, gevent) ports of each node for a proxy on ``port``."""
    return [(port + 8 + 2 * index, port + 9 + 2 * index) for index in range(1, nodes + 1)]


def nginx_config(run_dir, port, ports, template=TEMPLATE):
    """The proxy's configuration: ``template`` with the nodes' ports filled in."""
    values = {
        "run_dir": str(run_dir),
        "listen": f"127.0.0.1:{port}",
        "http_servers": "\n".join(
            f"        server 127.0.0.1:{http} max_fails=1 fail_timeout=10s;" for http, _ in ports
        ),
        "websocket_servers": "\n".join(
            f"        server 127.0.0.1:{gevent} max_fails=1 fail_timeout=10s;"
            for _, gevent in ports
        ),
    }
    text = Path(template).read_text()
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def runner_holders(db):
    """Names of the nodes (``node1``...) whose backend holds queue_job's runner lock on ``db``.

    Connects with the ``PG*`` variables of the environment (setup/common.sh sets them).
    """
    with psycopg2.connect(dbname=db) as conn, conn.cursor() as cr:
        cr.execute(
            """
            SELECT a.application_name
              FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND l.classid::bigint = %s AND l.objid::bigint = %s
            """,
            [RUNNER_LOCK_ID >> 32, RUNNER_LOCK_ID & 0xFFFFFFFF],
        )
        names = [row[0] or "" for row in cr.fetchall()]
    conn.close()
    return [name.removeprefix(APP_PREFIX).split("-")[0] for name in names]


def answers(url, timeout=2):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


class Cluster:
    """N Odoo nodes and nginx; ``start()``, ``runner_node()``, ``kill()``, ``stop()``."""

    def __init__(
        self,
        db,
        config,
        nodes=2,
        port=8069,
        workers=2,
        data_dir=None,
        run_dir=None,
        environ=None,
        odoo_args=(),
    ):
        self.db = db
        self.config = config
        self.port = port
        self.ports = node_ports(port, nodes)
        self.workers = workers
        self.data_dir = data_dir
        home = Path(os.environ.get("FINSYNC_HOME", "/var/lib/finsync"))
        self.run_dir = Path(run_dir or home / "cluster")
        self.environ = dict(environ or os.environ)
        self.odoo_args = list(odoo_args)
        self.processes = {}  # node number -> Popen
        self.proxy = None

    # ------------------------------------------------------------------
    # Starting and stopping
    # ------------------------------------------------------------------
    def start(self, timeout=180):
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._write_nginx_config()
        for number in range(1, len(self.ports) + 1):
            self.start_node(number)
        self._start_proxy()
        self.wait_ready(timeout)
        return self

    def node_command(self, number):
        http, gevent = self.ports[number - 1]
        command = [
            sys.executable,
            str(Path(self.environ.get("ODOO_SRC", "/opt/odoo-18.0")) / "odoo-bin"),
            "-c",
            self.config,
            "-d",
            self.db,
            f"--workers={self.workers}",
            f"--http-port={http}",
            f"--gevent-port={gevent}",
            "--http-interface=127.0.0.1",
            "--proxy-mode",
        ]
        if self.data_dir:
            command.append(f"--data-dir={self.data_dir}")
        return command + self.odoo_args

    def start_node(self, number):
        environ = dict(
            self.environ,
            # Names the node's PostgreSQL connections: runner_node() reads it.
            ODOO_PGAPPNAME=f"{APP_PREFIX}{number}-{{pid}}",
            # The runner asks for jobs through the proxy: they run on every node.
            ODOO_QUEUE_JOB_HOST="127.0.0.1",
            ODOO_QUEUE_JOB_PORT=str(self.port),
        )
        with open(self.log_path(number), "w") as log:
            self.processes[number] = subprocess.Popen(
                self.node_command(number),
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=environ,
            )

    def log_path(self, number):
        return self.run_dir / f"node{number}.log"

    def _write_nginx_config(self):
        tmp = self.run_dir / "tmp"
        tmp.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            # nginx's workers run as nobody when the master is root: they write the temp files.
            nobody = pwd.getpwnam("nobody")
            os.chown(tmp, nobody.pw_uid, nobody.pw_gid)
        path = self.run_dir / "nginx.conf"
        path.write_text(nginx_config(self.run_dir, self.port, self.ports))
        return path

    def _start_proxy(self):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        command = [
            nginx,
            "-p",
            f"{self.run_dir}/",
            "-e",
            str(self.run_dir / "nginx-error.log"),
            "-c",
            str(self.run_dir / "nginx.conf"),
        ]
        with open(self.run_dir / "nginx.log", "w") as log:
            self.proxy = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, timeout):
        """Every node answers /web/health, the proxy too, and one runner holds the lock."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            self._check_alive()
            if (
                all(answers(f"http://127.0.0.1:{http}/web/health") for http, _ in self.ports)
                and answers(self.url("/web/health"))
                and self.runner_node()
            ):
                return
            time.sleep(0.5)
        self.stop()
        raise SystemExit(
            f"finsync: error: the cluster did not get ready within {timeout} s: "
            f"see the logs in {self.run_dir}"
        )

    def _check_alive(self):
        for number, process in self.processes.items():
            if process.poll() is not None:
                self.stop()
                raise SystemExit(
                    f"finsync: error: node {number} exited: see {self.log_path(number)}"
                )
        if self.proxy and self.proxy.poll() is not None:
            self.stop()
            raise SystemExit(
                f"finsync: error: nginx exited: see {self.run_dir / 'nginx-error.log'}"
            )

    def stop(self):
        for process in [*self.processes.values(), self.proxy]:
            if process and process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for process in [*self.processes.values(), self.proxy]:
            if process is None:
                continue
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    # ------------------------------------------------------------------
    # Looking and killing
    # ------------------------------------------------------------------
    def url(self, path=""):
        return f"http://127.0.0.1:{self.port}{path}"

    def runner_node(self):
        """The number of the node whose job runner holds the lock, or None."""
        holders = runner_holders(self.db)
        return int(holders[0]) if len(holders) == 1 and holders[0].isdigit() else None

    def kill(self, number):
        """SIGKILL the node: its master, workers, gevent process and job runner at once."""
        process = self.processes[number]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def alive(self):
        return [number for number, process in self.processes.items() if process.poll() is None]


# ----------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------
def check(cluster):
    """What ``--check`` prints: the proxy answers, and exactly one runner holds the lock."""
    holders = runner_holders(cluster.db)
    return {
        "nodes": len(cluster.ports),
        "health_through_proxy": answers(cluster.url("/web/health")),
        "nodes_healthy": sum(
            answers(f"http://127.0.0.1:{http}/web/health") for http, _ in cluster.ports
        ),
        "runner_lock_holders": len(holders),
        "runner_node": cluster.runner_node(),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(prog="setup/cluster")
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="HTTP workers per node")
    parser.add_argument("--port", type=int, default=8069, help="the proxy's port")
    parser.add_argument("--db", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--data-dir")
    parser.add_argument("--run-dir", help="configuration and logs ($FINSYNC_HOME/cluster)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="start, print what check() sees as JSON, stop (exit 1 unless all is well)",
    )
    args = parser.parse_args(argv)
    if args.nodes < 1:
        parser.error("--nodes must be at least 1")
    cluster = Cluster(
        args.db,
        args.config,
        nodes=args.nodes,
        port=args.port,
        workers=args.workers,
        data_dir=args.data_dir,
        run_dir=args.run_dir,
    )
    cluster.start()
    if args.check:
        try:
            seen = check(cluster)
        finally:
            cluster.stop()
        print("CLUSTER " + json.dumps(seen))
        ok = seen["health_through_proxy"] and seen["nodes_healthy"] == args.nodes
        return 0 if ok and seen["runner_lock_holders"] == 1 else 1
    print(
        f"\n  FinSync runs on {args.nodes} nodes behind http://localhost:{args.port}\n"
        f"  Database: {args.db}; job runner on node {cluster.runner_node()}\n"
        f"  Nodes: {', '.join(f'{h} (gevent {g})' for h, g in cluster.ports)}; "
        f"logs and nginx.conf in {cluster.run_dir}\n  Stop with Ctrl+C.\n",
        file=sys.stderr,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            time.sleep(5)
            for number, process in cluster.processes.items():
                if process.poll() is not None and not getattr(process, "reported", False):
                    process.reported = True
                    print(
                        f"finsync: node {number} exited ({process.returncode}): the others "
                        f"serve on; see {cluster.log_path(number)}",
                        file=sys.stderr,
                    )
            if not cluster.alive():
                return 1
    except KeyboardInterrupt:
        return 0
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
