"""Several Odoo nodes (``setup/cluster``): the proxy's configuration, and two nodes
on the test database behind nginx answering through it with exactly one job runner.

The failover under load (the runner's node killed in a webhook storm) needs
minutes: it is the documented ``setup/bench webhooks --nodes 2 --kill-runner-node``.
"""

import importlib.util
import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

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


def test_two_nodes_answer_through_the_proxy_with_one_job_runner(tmp_path):
    port = _free_base_port()
    command = [str(SETUP / "cluster"), "--nodes", "2", "--db", _database(), "--port", str(port)]
    run = subprocess.run(
        [*command, "--run-dir", str(tmp_path), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [line for line in run.stdout.splitlines() if line.startswith("CLUSTER ")]
    assert lines, f"no CLUSTER line:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}"
    seen = json.loads(lines[-1].removeprefix("CLUSTER "))
    print(seen)
    assert seen["health_through_proxy"], "/web/health answers through nginx"
    assert seen["nodes_healthy"] == 2
    assert seen["runner_lock_holders"] == 1, "exactly one node's job runner holds the lock"
    assert seen["runner_node"] in (1, 2)
    assert run.returncode == 0
