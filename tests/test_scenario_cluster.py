"""Several Odoo nodes (``setup/cluster``): the proxy's configuration, and two nodes
on the test database behind nginx answering through it, sharing sessions, with
exactly one job runner.

The failover under load (the runner's node killed in a webhook storm) needs
minutes: it is the documented ``setup/bench webhooks --nodes 2 --kill-runner-node``.
"""

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

import odoo

SETUP = Path(__file__).resolve().parents[1] / "setup"
_spec = importlib.util.spec_from_file_location("finsync_cluster", SETUP / "cluster.py")
cluster = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cluster)


def _database():
    name = odoo.tools.config["db_name"]
    return name[0] if isinstance(name, list | tuple) else name.split(",")[0]


def _free(port):
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _answers(port):
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _free_base_port():
    """A proxy port whose nodes' ports (``cluster.node_ports``) are free too
    (``FINSYNC_CLUSTER_TEST_PORT`` names one)."""
    if os.environ.get("FINSYNC_CLUSTER_TEST_PORT"):
        return int(os.environ["FINSYNC_CLUSTER_TEST_PORT"])
    for _attempt in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        wanted = [port] + [p for pair in cluster.node_ports(port, 2) for p in pair]
        if all(_free(p) for p in wanted) and max(wanted) < 65536:
            return port
    raise AssertionError("no free ports for the cluster")


def test_nginx_config_routes_http_and_websocket_to_every_node(tmp_path):
    ports = cluster.node_ports(8470, 2)
    assert ports == [(8480, 8481), (8482, 8483)]
    text = cluster.nginx_config(tmp_path, 8470, ports)
    assert "{" + "run_dir}" not in text and "{" + "http_servers}" not in text
    http = text.split("upstream finsync_http {")[1].split("}")[0]
    websocket = text.split("upstream finsync_websocket {")[1].split("}")[0]
    assert "127.0.0.1:8480" in http and "127.0.0.1:8482" in http
    assert "8481" not in http, "the gevent ports serve websockets only"
    # The node with the fewest requests in progress gets the next one (round robin
    # queued behind a busy node: 0.71x one node's rate on a quiet machine).
    assert "least_conn;" in http
    assert "127.0.0.1:8481" in websocket and "127.0.0.1:8483" in websocket
    assert "listen 127.0.0.1:8470;" in text
    location = text.split("location /websocket {")[1].split("}")[0]
    assert "proxy_pass http://finsync_websocket;" in location
    assert "proxy_set_header Upgrade $http_upgrade;" in location
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if os.path.exists(nginx):
        (tmp_path / "tmp").mkdir()
        (tmp_path / "nginx.conf").write_text(text)
        test = [nginx, "-t", "-p", f"{tmp_path}/", "-e", str(tmp_path / "error.log")]
        syntax = subprocess.run(
            [*test, "-c", str(tmp_path / "nginx.conf")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert syntax.returncode == 0, syntax.stderr


def _rpc(url, params, cookies=None):
    response = requests.post(
        url, json={"jsonrpc": "2.0", "params": params}, cookies=cookies, timeout=30
    )
    response.raise_for_status()
    return response


def test_two_nodes_behind_the_proxy_share_sessions_and_run_one_job_runner(tmp_path):
    """``setup/cluster --nodes 2`` on the test database: /web/health answers through
    nginx, exactly one node's runner holds the lock, a session opened on node 1 is
    valid on node 2 and through the proxy (one data directory), and Ctrl+C stops it all."""
    port = _free_base_port()
    db = _database()
    command = [str(SETUP / "cluster"), "--nodes", "2", "--db", db, "--port", str(port)]
    with open(tmp_path / "cluster.log", "w") as log:
        process = subprocess.Popen(
            [*command, "--run-dir", str(tmp_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.time() + 300
        while "Stop with Ctrl+C" not in (tmp_path / "cluster.log").read_text():
            assert process.poll() is None, (tmp_path / "cluster.log").read_text()[-3000:]
            assert time.time() < deadline, "setup/cluster did not get ready in 300 s"
            time.sleep(0.5)
        (node1, _gevent1), (node2, _gevent2) = cluster.node_ports(port, 2)
        proxy = f"http://127.0.0.1:{port}"
        assert requests.get(f"{proxy}/web/health", timeout=10).status_code == 200
        assert cluster.runner_holders(db) in (["1"], ["2"]), "exactly one job runner"

        login = _rpc(
            f"http://127.0.0.1:{node1}/web/session/authenticate",
            {"db": db, "login": "admin", "password": "admin"},
        )
        assert login.json()["result"]["uid"], login.text[:500]
        cookies = {"session_id": login.cookies["session_id"]}
        for base in (f"http://127.0.0.1:{node2}", proxy):
            info = _rpc(f"{base}/web/session/get_session_info", {}, cookies).json()
            assert info.get("result", {}).get("uid") == login.json()["result"]["uid"], info
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    assert process.returncode == 0, (tmp_path / "cluster.log").read_text()[-3000:]
    for http, gevent in cluster.node_ports(port, 2):
        assert not _answers(http) and not _answers(gevent), "the nodes stopped with it"
    assert not _answers(port), "nginx stopped with setup/cluster"
