#!/usr/bin/env python3
"""What drift detection costs an idle operator.

Installs N `scaffold` releases (Deployment, Service, ServiceAccount each)
from the shared loopback repository on the test control plane with one
`rudder run` (the shipped binary), waits until all are Ready, lets the
process settle, then measures over an idle period its CPU time (from
/proc), its resident memory (current and peak) and its API writes
(`rudder_api_writes_total`). It does this with drift detection `enabled`
and `disabled`, a fresh namespace and process each, and prints both rows
and their ratio.

Usage: scripts/bench-drift.py [--releases 200] [--idle 300] [--modes enabled,disabled]
Needs: kubectl on PATH, `make release` (built here if missing). Runs on
$KUBECONFIG if set, else on a control plane of its own (stopped at the end).
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


class IndexServer(ThreadingHTTPServer):
    """The chart repository server: a listen backlog large enough for
    every HelmRepository fetching at once (a restart with 1,000 of them),
    which the default of 5 turns into refused connections and timeouts."""
    request_queue_size = 1024
    daemon_threads = True


def shared_index() -> Path:
    d = ROOT
    while d != d.parent:
        cand = d.parent / "shared" / "charts" / "index"
        if cand.is_dir():
            return cand
        d = d.parent
    sys.exit("../shared/charts/index not found")


def kubectl(*args, stdin=None):
    return subprocess.run(
        ["kubectl", *args], input=stdin, text=True, check=True, capture_output=True
    ).stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_index() -> ThreadingHTTPServer | None:
    """The shared index on 127.0.0.1:8879, where its URLs point; if another
    process serves the same index there already, that one is used."""
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = partial(Quiet, directory=str(shared_index()))
    try:
        srv = IndexServer(("127.0.0.1", 8879), handler)
    except OSError:
        want = (shared_index() / "index.yaml").read_bytes()
        got = urllib.request.urlopen("http://127.0.0.1:8879/index.yaml", timeout=5).read()
        if got != want:
            sys.exit("127.0.0.1:8879 is taken by a server of another index")
        return None
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def start_plane(releases: int) -> tuple[dict, str]:
    """A control plane of the benchmark's own (its own state dir, enough
    simulated nodes for the Pods), so other users of the machine's test
    control plane neither disturb nor are disturbed by it."""
    env = {**os.environ, "RUDDER_TESTENV_DIR": f"/tmp/rudder-bench-drift-{os.getpid()}",
           "RUDDER_TESTENV_NODES": str(max(3, -(-releases // 250)))}
    up = subprocess.run([str(ROOT / "e2e" / "testenv" / "up.sh")], check=True, text=True,
                        capture_output=True, env=env)
    return env, up.stdout.strip().splitlines()[-1]


def manifests(ns: str, n: int, mode: str) -> str:
    docs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {
            "apiVersion": "helm.rudder.dev/v1alpha1",
            "kind": "HelmRepository",
            "metadata": {"name": "charts", "namespace": ns},
            "spec": {"url": "http://127.0.0.1:8879/"},
        },
    ]
    for i in range(n):
        docs.append(
            {
                "apiVersion": "helm.rudder.dev/v1alpha1",
                "kind": "HelmRelease",
                "metadata": {"name": f"r{i}", "namespace": ns},
                "spec": {
                    "chart": {
                        "name": "scaffold",
                        "version": "0.1.0",
                        "repositoryRef": {"name": "charts"},
                    },
                    "driftDetection": {"mode": mode},
                },
            }
        )
    return "\n---\n".join(json.dumps(d) for d in docs)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def memory_mib(pid: int) -> tuple[float, float]:
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    kib = lambda k: int(status[k].split()[0]) / 1024
    return kib("VmRSS"), kib("VmHWM")


def metric(port: int, name: str) -> float:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    for line in body.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def ready_count(ns: str) -> int:
    items = json.loads(kubectl("get", "helmreleases", "-n", ns, "-o", "json"))["items"]
    return sum(
        1
        for o in items
        if any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in o.get("status", {}).get("conditions", [])
        )
    )


def run(binary: str, n: int, idle: int, mode: str) -> dict:
    ns = f"bench-drift-{mode}-{os.getpid()}"
    kubectl("apply", "--server-side", "-f", "-", stdin=manifests(ns, n, mode))
    port = free_port()
    log = open(f"/tmp/{ns}.log", "w")
    proc = subprocess.Popen(
        [binary, "run", "--watch-namespace", ns, "--leader-election-namespace", ns,
         "--metrics-addr", f"127.0.0.1:{port}", "--log-format", "json"],
        stdout=log, stderr=log,
        env={**os.environ, "RUST_LOG": os.environ.get("RUDDER_BENCH_LOG", "warn")},
    )
    try:
        start = time.monotonic()
        while (done := ready_count(ns)) < n:
            if time.monotonic() - start > 1200:
                raise SystemExit(f"{mode}: only {done}/{n} Ready after 20 min")
            time.sleep(2)
        all_ready = time.monotonic() - start
        time.sleep(30)  # settle: the drift task learns every release
        cpu0, w0 = cpu_seconds(proc.pid), metric(port, "rudder_api_writes_total")
        time.sleep(idle)
        cpu1, w1 = cpu_seconds(proc.pid), metric(port, "rudder_api_writes_total")
        rss, peak = memory_mib(proc.pid)
        return {
            "mode": mode, "releases": n, "all_ready_s": all_ready,
            "idle_s": idle, "cpu_s": cpu1 - cpu0,
            "cpu_pct": 100 * (cpu1 - cpu0) / idle, "rss_mib": rss, "peak_mib": peak,
            "idle_writes": w1 - w0,
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        subprocess.run(["kubectl", "delete", "namespace", ns, "--wait=false"],
                       capture_output=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--releases", type=int, default=200)
    p.add_argument("--idle", type=int, default=300, help="idle seconds measured")
    p.add_argument("--modes", default="enabled,disabled")
    p.add_argument("--binary", help="rudder binary (default: make release)")
    a = p.parse_args()
    binary = a.binary or subprocess.run(
        [str(ROOT / "scripts" / "build-release.sh")], check=True, text=True,
        capture_output=True).stdout.strip().splitlines()[-1]
    plane_env = None
    if "KUBECONFIG" not in os.environ:
        plane_env, os.environ["KUBECONFIG"] = start_plane(a.releases)
    kubectl("apply", "--server-side", "--force-conflicts", "-f", "-",
            stdin=subprocess.run([binary, "crds"], check=True, text=True,
                                 capture_output=True).stdout)
    srv = serve_index()
    rows = []
    try:
        for mode in a.modes.split(","):
            rows.append(run(binary, a.releases, a.idle, mode))
            print(json.dumps(rows[-1]), flush=True)
    finally:
        if srv:
            srv.shutdown()
        if plane_env:
            subprocess.run([str(ROOT / "e2e" / "testenv" / "down.sh")], env=plane_env,
                           capture_output=True)
            Path(plane_env["RUDDER_TESTENV_DIR"] + ".lock").unlink(missing_ok=True)
    print(f"{'mode':<9} {'releases':>8} {'all Ready s':>11} {'idle CPU s':>10} "
          f"{'CPU %':>6} {'RSS MiB':>8} {'peak MiB':>8} {'idle writes':>11}")
    for r in rows:
        print(f"{r['mode']:<9} {r['releases']:>8} {r['all_ready_s']:>11.1f} {r['cpu_s']:>10.2f} "
              f"{r['cpu_pct']:>6.2f} {r['rss_mib']:>8.1f} {r['peak_mib']:>8.1f} {r['idle_writes']:>11.0f}")
    if len(rows) == 2 and rows[1]["cpu_s"] > 0:
        print(f"drift on/off: CPU x{rows[0]['cpu_s'] / rows[1]['cpu_s']:.2f}, "
              f"RSS x{rows[0]['rss_mib'] / rows[1]['rss_mib']:.2f}")


if __name__ == "__main__":
    main()
