#!/usr/bin/env python3
"""Scale benchmark: N HelmReleases of one chart, rudder against helm, the bare
server-side-apply floor and Flux, on the same kind of API server.

Every tool gets a fresh test control plane (e2e/testenv/up.sh in its own state
dir, with an audit log and enough kwok nodes for N Pods), so no tool pays for
another's leftovers (etcd size, namespaces being deleted, watch caches). The
shared chart repository (../shared/charts/index) is served on 127.0.0.1:8879.
Each release is the `scaffold` chart (ServiceAccount, Service, Deployment of
one replica that kwok makes Ready) named `app`, alone in its namespace
`scale-NNNNN`. Before the clock starts, the N namespaces exist (for the
controllers each with a HelmRepository that is Ready) and the controllers
are up and ready; the clock starts when the first release is asked for:

  rudder  `rudder run` (defaults: waits for readiness); the harness creates
          the N HelmReleases 10 at a time; a release is Ready when its Ready
          condition is True.
  helm    `helm install app scaffold --repo URL --version V -n NS
          --wait=watcher` (readiness as kstatus sees it, as rudder and Flux
          wait), 10 processes at a time; a release is done when helm exits 0.
  floor   what the API server can do at best: the same objects (rendered once
          by `helm template`) and a Helm release Secret applied by bare
          requests (server-side apply PATCHes, one Secret POST), 10 releases
          at a time; a release is done when its objects are applied and its
          Deployment is Available.
  flux    helm-controller and source-controller built from their Go modules
          (scripts/bench-scale-flux.sh), both `--concurrent=10`, reconciling
          HelmRelease v2 objects of the same chart, created as for rudder.

Reported per tool: time to the first and to the last release Ready, p50/p90
of the Ready times (seconds since the clock started), peak RSS (VmHWM) and
CPU seconds of the tool's processes, the API server's CPU seconds, the API
requests the tool made (from the API server's audit log, by user agent,
received between the start and the last Ready) per release, and reconciles
(the controllers' own counters).

Optional rudder phases after all Ready, in this order: --idle S (rudder's CPU
and writes over S idle seconds), --storm M (M releases upgraded at once:
time to all at revision 2, reconciles, rudder_api_writes_total against the
audit log's count of its writes), --helm-records H (H release records of
helm's own, each in its own namespace, join the cluster; rudder restarts:
time to re-check every release, peak RSS, writes in the 30 s after).

Usage: scripts/bench-scale.py [--releases 100] [--tools rudder,helm,floor,flux]
                              [--rudder-binary PATH] [--parallel 10] [--timeout 1800]
                              [--rudder-args '--concurrency 16'] [--idle S] [--storm M]
                              [--helm-records H]
Needs go, openssl, curl (the control plane), helm and kubectl on PATH.
"""

import argparse
import base64
import concurrent.futures as cf
import gzip
import http.client
import json
import math
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTENV = ROOT / "e2e" / "testenv"
CLK_TCK = os.sysconf("SC_CLK_TCK")
CHART = "scaffold"
CHART_VERSION = "0.1.0"
REPO_URL = "http://127.0.0.1:8879"
RELEASE = "app"
HARNESS_UA = "bench-scale-harness"
FLOOR_UA = "bench-scale-floor"
ALL_TOOLS = ["rudder", "helm", "floor", "flux"]
# Not run unless asked for (--tools ...,shards): --shards rudder processes.
EXTRA_TOOLS = ["shards"]
SHARD_LABEL = "sharding.rudder.dev/key"
# Audit only the admin identity every tool and the harness use (not the
# controller manager, scheduler or kwok); one event per finished request.
AUDIT_POLICY = """apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
- level: Metadata
  users: [rudder-testenv-admin]
- level: None
"""


class IndexServer(ThreadingHTTPServer):
    """The chart repository server: a listen backlog large enough for
    every HelmRepository fetching at once (a restart with 1,000 of them),
    which the default of 5 turns into refused connections and timeouts."""
    request_queue_size = 1024
    daemon_threads = True


def log(msg: str) -> None:
    print(f"bench-scale: {msg}", file=sys.stderr, flush=True)


def shared_index() -> Path:
    d = ROOT
    while d != d.parent:
        cand = d.parent / "shared" / "charts" / "index"
        if (cand / "index.yaml").is_file():
            return cand
        d = d.parent
    sys.exit("../shared/charts/index not found")


def serve_index():
    """The shared index on 127.0.0.1:8879, where its URLs point. If another
    process serves the same index there already, use it."""
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = partial(Quiet, directory=str(shared_index()))
    try:
        srv = IndexServer(("127.0.0.1", 8879), handler)
    except OSError:
        want = (shared_index() / "index.yaml").read_bytes()
        try:
            got = urllib.request.urlopen(f"{REPO_URL}/index.yaml", timeout=5).read()
        except OSError as e:
            sys.exit(f"127.0.0.1:8879 is taken and does not serve the index: {e}")
        if got != want:
            sys.exit("127.0.0.1:8879 is taken by a server of another index")
        log("127.0.0.1:8879 already serves ../shared/charts/index; using it")
        return None
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ns_name(i: int) -> str:
    return f"scale-{i:05d}"


# --- /proc --------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


# rudder's reconciliations started for a change of what a HelmRelease asks
# for (not the periodic ones every spec.interval, nor retries).
CHANGE = 'cause="change",kind="HelmRelease"'


def metric_sum(port: int, name: str, label: str = "") -> float:
    """Sum of a Prometheus counter's samples whose labels contain `label`."""
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return float("nan")
    total = 0.0
    for line in body.splitlines():
        if (line.startswith(name + " ") or line.startswith(name + "{")) and label in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


# --- control plane --------------------------------------------------------------


class Plane:
    """A test control plane of our own (up.sh with its own state dir)."""

    def __init__(self, work: Path, tag: str, releases: int, qps: int = 0):
        self.dir = Path(f"/tmp/rudder-bench-scale-{os.getpid()}-{tag}")
        self.audit = work / f"audit-{tag}.log"
        policy = work / "audit-policy.yaml"
        policy.write_text(AUDIT_POLICY)
        nodes = max(3, math.ceil(releases / 250))
        self.env = {
            **os.environ,
            "RUDDER_TESTENV_DIR": str(self.dir),
            "RUDDER_TESTENV_NODES": str(nodes),
            "RUDDER_TESTENV_APISERVER_ARGS": " ".join([
                f"--audit-policy-file={policy}", f"--audit-log-path={self.audit}",
                "--audit-log-format=json", "--audit-log-mode=batch", "--audit-log-maxsize=0",
            ]),
        }
        if qps:
            # The controller manager's and scheduler's client rate limits
            # (20 and 50 requests/s by default) would otherwise be what every
            # tool waits for: each Deployment costs the deployment and
            # replica-set controllers several writes before it is Available.
            client = f"--kube-api-qps={qps} --kube-api-burst={2 * qps}"
            self.env["RUDDER_TESTENV_CONTROLLER_MANAGER_ARGS"] = (
                f"{client} --concurrent-deployment-syncs=20 --concurrent-replicaset-syncs=20")
            self.env["RUDDER_TESTENV_SCHEDULER_ARGS"] = client
        log(f"starting a control plane in {self.dir} ({nodes} kwok nodes, client QPS {qps or 'default'})")
        t = time.monotonic()
        out = subprocess.run([str(TESTENV / "up.sh")], env=self.env, text=True,
                             stdout=subprocess.PIPE, check=True).stdout
        self.kubeconfig = out.strip().splitlines()[-1]
        self.start_s = time.monotonic() - t
        ports = dict(l.split("=", 1) for l in (self.dir / "ports").read_text().split())
        self.api = Api(int(ports["API_PORT"]), self.dir / "pki")
        pids = dict(l.split() for l in (self.dir / "pids").read_text().splitlines())
        self.apiserver_pid = int(pids["kube-apiserver"])

    def down(self) -> None:
        subprocess.run([str(TESTENV / "down.sh")], env=self.env, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        Path(f"{self.dir}.lock").unlink(missing_ok=True)

    def audit_counts(self, start: datetime, end: datetime) -> dict:
        """Requests received in [start, end] from anyone but the harness (only
        the tool under test runs then): total, writes, reads, watches, by
        verb/resource, and all requests by user agent."""
        counts = {"total": 0, "writes": 0, "reads": 0, "watches": 0, "by": {}, "agents": {},
                  "writes_no_leases": 0, "dry_runs": 0}
        if not self.audit.exists():
            return counts
        with self.audit.open() as f:
            for line in f:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                t = datetime.fromisoformat(ev["requestReceivedTimestamp"].replace("Z", "+00:00"))
                if not start <= t <= end:
                    continue
                ua = ev.get("userAgent", "").split(" ")[0]
                counts["agents"][ua] = counts["agents"].get(ua, 0) + 1
                if ua == HARNESS_UA:
                    continue
                verb = ev.get("verb", "")
                ref = ev.get("objectRef", {})
                res = ref.get("resource", ev.get("requestURI", "?").split("?")[0])
                if ref.get("subresource"):
                    res += "/" + ref["subresource"]
                counts["total"] += 1
                if verb in ("create", "update", "patch", "delete", "deletecollection"):
                    counts["writes"] += 1
                    if "dryRun=" in ev.get("requestURI", ""):
                        counts["dry_runs"] += 1
                    elif ref.get("resource") != "leases":
                        counts["writes_no_leases"] += 1
                elif verb == "watch":
                    counts["watches"] += 1
                else:
                    counts["reads"] += 1
                key = f"{verb} {res}"
                counts["by"][key] = counts["by"].get(key, 0) + 1
        return counts


class Api:
    """A minimal Kubernetes API client (admin client certificate), one
    connection per thread."""

    def __init__(self, port: int, pki: Path):
        self.port = port
        self.ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self.ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        self.local = threading.local()

    def conn(self, timeout=60) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=timeout)

    def request(self, method, path, body=None, ctype="application/json", ua=HARNESS_UA, ok=(200, 201)):
        data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"User-Agent": ua, "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = ctype
        for attempt in range(5):
            c = getattr(self.local, "c", None)
            if c is None:
                c = self.local.c = self.conn()
            try:
                c.request(method, path, body=data, headers=headers)
                r = c.getresponse()
                text = r.read()
            except (OSError, http.client.HTTPException):
                c.close()
                self.local.c = None
                time.sleep(0.2 * (attempt + 1))
                continue
            if r.status in (429, 500, 503, 504) and attempt < 4:
                time.sleep(0.2 * (attempt + 1))
                continue
            if r.status not in ok:
                raise RuntimeError(f"{method} {path}: HTTP {r.status}: {text[:300]!r}")
            return json.loads(text) if text else None
        raise RuntimeError(f"{method} {path}: no answer")

    def create(self, path, obj, ua=HARNESS_UA):
        return self.request("POST", path, obj, ua=ua, ok=(200, 201, 409))

    def apply(self, path, obj, manager, ua=HARNESS_UA):
        return self.request("PATCH", f"{path}?fieldManager={manager}&force=true", obj,
                            ctype="application/apply-patch+yaml", ua=ua)


class Watcher(threading.Thread):
    """Lists then watches a collection; records (monotonic) when `ready(obj)`
    first holds for each namespace."""

    def __init__(self, api: Api, path: str, ready):
        super().__init__(daemon=True)
        self.api, self.path, self.ready = api, path, ready
        self.ready_at: dict = {}
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.watch_conn = None

    def stop(self) -> None:
        """Stop watching (closes the open watch, so no request stays open)."""
        self.stop_event.set()
        c = self.watch_conn
        if c is not None and c.sock is not None:
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def see(self, obj) -> None:
        ns = obj["metadata"].get("namespace", "")
        if ns.startswith("scale-") and ns not in self.ready_at and self.ready(obj):
            with self.lock:
                self.ready_at.setdefault(ns, time.monotonic())

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                lst = self.api.request("GET", self.path)
                for o in lst["items"]:
                    self.see(o)
                rv = lst["metadata"]["resourceVersion"]
                c = self.watch_conn = self.api.conn(timeout=None)
                c.request("GET", f"{self.path}?watch=1&resourceVersion={rv}&timeoutSeconds=600",
                          headers={"User-Agent": HARNESS_UA})
                r = c.getresponse()
                while not self.stop_event.is_set():
                    line = r.readline()
                    if not line:
                        break
                    ev = json.loads(line)
                    if ev.get("type") in ("ADDED", "MODIFIED"):
                        self.see(ev["object"])
                    elif ev.get("type") == "ERROR":
                        break
                c.close()
            except Exception as e:  # noqa: BLE001 — list again
                if not self.stop_event.is_set():
                    log(f"watch {self.path}: {e}; listing again")
                    time.sleep(0.5)


def condition_true(obj, kind="Ready") -> bool:
    return any(c.get("type") == kind and c.get("status") == "True"
               for c in obj.get("status", {}).get("conditions", []))


def deployment_available(obj) -> bool:
    st = obj.get("status", {})
    return (condition_true(obj, "Available")
            and st.get("observedGeneration", 0) >= obj["metadata"].get("generation", 0)
            and st.get("readyReplicas", 0) >= obj.get("spec", {}).get("replicas", 1))


def wait_until(what: str, cond, timeout: float, every: float = 1.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(every)


def wait_http_ok(url: str, timeout: float, proc=None) -> None:
    def ok():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            return urllib.request.urlopen(url, timeout=2).status == 200
        except (OSError, urllib.error.HTTPError):
            return False
    wait_until(url, ok, timeout, 0.5)


def kubectl_apply(kubeconfig: str, text: str) -> None:
    subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "apply", "--server-side",
                    "--force-conflicts", "-f", "-"], input=text, text=True, check=True,
                   stdout=subprocess.DEVNULL)


def pool_map(fn, items, workers: int):
    with cf.ThreadPoolExecutor(workers) as ex:
        return list(ex.map(fn, items))


def create_namespaces(api: Api, n: int) -> None:
    pool_map(lambda i: api.create("/api/v1/namespaces",
                                  {"apiVersion": "v1", "kind": "Namespace",
                                   "metadata": {"name": ns_name(i)}}), range(n), 10)


def percentile(sorted_xs, q):
    if not sorted_xs:
        return float("nan")
    return sorted_xs[min(len(sorted_xs) - 1, max(0, math.ceil(q * len(sorted_xs)) - 1))]


class Run:
    """One tool's phase: a fresh plane, setup, the clock, the figures."""

    def __init__(self, tool: str, a, work: Path):
        self.tool, self.a, self.n = tool, a, a.releases
        self.began = time.monotonic()
        self.plane = Plane(work, tool, a.releases, a.plane_qps)
        self.api = self.plane.api
        self.res = {"tool": tool, "releases": self.n, "load": os.getloadavg()[0],
                    "plane_start_s": self.plane.start_s}
        self.wall0 = datetime.now().astimezone()
        self.done_wall = self.wall0
        self.windows: dict = {}

    def clock(self):
        self.t0 = time.monotonic()
        self.wall0 = datetime.now().astimezone()
        self.cpu_api0 = cpu_seconds(self.plane.apiserver_pid)

    def finish(self, ready_at: dict, done_wall: datetime) -> None:
        times = sorted(t - self.t0 for t in ready_at.values())
        r = self.res
        r["ready"] = len(times)
        r["first_s"] = times[0] if times else float("nan")
        r["p50_s"] = percentile(times, 0.5)
        r["p90_s"] = percentile(times, 0.9)
        r["all_s"] = times[-1] if len(times) == self.n else float("nan")
        r["apiserver_cpu_s"] = cpu_seconds(self.plane.apiserver_pid) - self.cpu_api0
        self.done_wall = done_wall

    def close(self) -> None:
        log(f"{self.tool}: stopping the control plane")
        self.plane.down()
        self.res["phase_s"] = time.monotonic() - self.began
        c = self.plane.audit_counts(self.wall0, self.done_wall)
        self.res["requests"] = c["total"]
        self.res["writes"] = c["writes"]
        self.res["writes_no_leases"] = c["writes_no_leases"]
        self.res["dry_run_writes"] = c["dry_runs"]
        self.res["watches"] = c["watches"]
        self.res["req_per_install"] = c["total"] / self.n
        self.res["writes_per_install"] = c["writes"] / self.n
        self.res["requests_by"] = dict(sorted(c["by"].items(), key=lambda kv: -kv[1])[:12])
        self.res["user_agents"] = c["agents"]
        for name, (start, end) in self.windows.items():
            w = self.plane.audit_counts(start, end)
            self.res[f"{name}_requests"] = w["total"]
            self.res[f"{name}_writes"] = w["writes_no_leases"]
            self.res[f"{name}_lease_and_dry_run_writes"] = w["writes"] - w["writes_no_leases"]
        try:
            self.plane.audit.unlink()
        except OSError:
            pass


def wait_all(run: Run, watcher: Watcher, timeout: float) -> datetime:
    deadline = run.t0 + timeout
    while len(watcher.ready_at) < run.n and time.monotonic() < deadline:
        time.sleep(0.2)
    if len(watcher.ready_at) < run.n:
        log(f"{run.tool}: only {len(watcher.ready_at)}/{run.n} Ready after {timeout:.0f}s")
    return datetime.now().astimezone()


def create_releases(run: Run, path_of, doc_of) -> None:
    pool_map(lambda i: run.api.create(path_of(ns_name(i)), doc_of(ns_name(i))),
             range(run.n), run.a.parallel)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- rudder --------------------------------------------------------------------


def bench_rudder(a, work: Path) -> dict:
    run = Run("rudder", a, work)
    kc = run.plane.kubeconfig
    try:
        prepare_rudder(a, run)
        base = "/apis/helm.rudder.dev/v1alpha1"
        proc, port, logf = start_rudder(a, work, kc, "rudder.log", "rudder-cache")
        try:
            wait_http_ok(f"http://127.0.0.1:{port}/readyz", 120, proc)
            pool_map(lambda i: run.api.create(
                f"{base}/namespaces/{ns_name(i)}/helmrepositories",
                {"apiVersion": "helm.rudder.dev/v1alpha1", "kind": "HelmRepository",
                 "metadata": {"name": "charts", "namespace": ns_name(i)},
                 "spec": {"url": REPO_URL}}), range(run.n), 10)
            repos = Watcher(run.api, f"{base}/helmrepositories", condition_true)
            repos.start()
            wait_until("rudder HelmRepositories Ready", lambda: len(repos.ready_at) >= run.n, 600, 0.5)
            repos.stop()
            rels = Watcher(run.api, f"{base}/helmreleases", condition_true)
            rels.start()
            time.sleep(1)
            rec0 = metric_sum(port, "rudder_reconcile_total", 'kind="HelmRelease"')
            ch0 = metric_sum(port, "rudder_reconcile_causes_total", CHANGE)
            w0 = metric_sum(port, "rudder_api_writes_total")
            cpu0 = cpu_seconds(proc.pid)
            log(f"rudder: creating {run.n} HelmReleases")
            run.clock()
            create_releases(
                run, lambda ns: f"{base}/namespaces/{ns}/helmreleases",
                lambda ns: {"apiVersion": "helm.rudder.dev/v1alpha1", "kind": "HelmRelease",
                            "metadata": {"name": RELEASE, "namespace": ns},
                            "spec": {"chart": {"name": CHART, "version": CHART_VERSION,
                                               "repositoryRef": {"name": "charts"}}}})
            done = wait_all(run, rels, a.timeout)
            run.finish(rels.ready_at, done)
            rels.stop()
            run.res["cpu_s"] = cpu_seconds(proc.pid) - cpu0
            run.res["peak_rss_mib"] = peak_rss_mib(proc.pid)
            run.res["reconciles"] = metric_sum(port, "rudder_reconcile_total", 'kind="HelmRelease"') - rec0
            run.res["reconciles_for_changes"] = metric_sum(port, "rudder_reconcile_causes_total", CHANGE) - ch0
            # rudder's own count of its writes (Leases excluded), to hold
            # against the API server's audit count.
            run.res["metric_writes"] = metric_sum(port, "rudder_api_writes_total") - w0
            if a.idle:
                rudder_idle(run, proc, port, a.idle)
            if a.storm:
                rudder_storm(run, port, min(a.storm, run.n))
                # VmHWM is the process's peak so far: installs, idle and storm.
                run.res["storm_peak_rss_mib"] = peak_rss_mib(proc.pid)
        finally:
            stop(proc)
            logf.close()
        if a.helm_records:
            rudder_restart(run, a, work, a.helm_records)
        run.res["warnings"] = sum(1 for l in open(work / "rudder.log") if '"WARN"' in l)
        run.res["conflict_warnings"] = conflict_warnings(work / "rudder.log")
    finally:
        run.close()
    return run.res


def conflict_warnings(path: Path) -> int:
    """Warnings in a rudder log that name a 409 or 422 answer: writes made
    from a stale copy of an object."""
    n = 0
    with open(path) as f:
        for line in f:
            if '"WARN"' in line and any(c in line for c in ("409", "422", "Conflict")):
                n += 1
    return n


def prepare_rudder(a, run: Run) -> None:
    """rudder's CRDs, the N namespaces and the Lease namespace."""
    crds = subprocess.run([a.rudder_binary, "crds"], check=True, text=True,
                          capture_output=True).stdout
    kubectl_apply(run.plane.kubeconfig, crds)
    create_namespaces(run.api, run.n)
    run.api.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": "rudder-bench"}})


def start_rudder(a, work: Path, kc: str, log_name: str, cache: str, extra: tuple = ()) -> tuple:
    """`rudder run` against `kc`, its log in work/<log_name> and its chart
    cache in work/<cache>; returns (process, metrics port, log file)."""
    port = free_port()
    logf = open(work / log_name, "w")
    proc = subprocess.Popen(
        [a.rudder_binary, "run", "--leader-election-namespace", "rudder-bench",
         "--metrics-addr", f"127.0.0.1:{port}", "--log-format", "json",
         "--cache-dir", str(work / cache), *extra, *a.rudder_args.split()],
        stdout=logf, stderr=logf, env={**os.environ, "KUBECONFIG": kc,
                                       "RUST_LOG": os.environ.get("RUDDER_BENCH_LOG", "warn")})
    return proc, port, logf


def bench_shards(a, work: Path) -> dict:
    """--shards rudder processes, each `--shard s<K>`, share the N releases
    (release i labelled s<i mod K>, with its HelmRepository): time to all
    Ready, and per shard how many releases it reconciled — each exactly its
    own, once — and how many release records exist (one per release)."""
    k = max(1, a.shards)
    run = Run("shards", a, work)
    kc = run.plane.kubeconfig
    shard_of = lambda ns: f"s{int(ns.rsplit('-', 1)[1]) % k}"
    started = []
    try:
        prepare_rudder(a, run)
        base = "/apis/helm.rudder.dev/v1alpha1"
        for j in range(k):
            started.append(start_rudder(a, work, kc, f"rudder-s{j}.log", f"rudder-cache-s{j}",
                                        ("--shard", f"s{j}")))
        for proc, port, _ in started:
            wait_http_ok(f"http://127.0.0.1:{port}/readyz", 120, proc)
        pool_map(lambda i: run.api.create(
            f"{base}/namespaces/{ns_name(i)}/helmrepositories",
            {"apiVersion": "helm.rudder.dev/v1alpha1", "kind": "HelmRepository",
             "metadata": {"name": "charts", "namespace": ns_name(i),
                          "labels": {SHARD_LABEL: shard_of(ns_name(i))}},
             "spec": {"url": REPO_URL}}), range(run.n), 10)
        repos = Watcher(run.api, f"{base}/helmrepositories", condition_true)
        repos.start()
        wait_until("shards' HelmRepositories Ready", lambda: len(repos.ready_at) >= run.n, 600, 0.5)
        repos.stop()
        rels = Watcher(run.api, f"{base}/helmreleases", condition_true)
        rels.start()
        time.sleep(1)
        key = 'kind="HelmRelease"'
        rec0 = [metric_sum(port, "rudder_reconcile_total", key) for _, port, _ in started]
        ch0 = [metric_sum(port, "rudder_reconcile_causes_total", CHANGE) for _, port, _ in started]
        cpu0 = [cpu_seconds(proc.pid) for proc, _, _ in started]
        log(f"shards: creating {run.n} HelmReleases for {k} shards")
        run.clock()
        create_releases(
            run, lambda ns: f"{base}/namespaces/{ns}/helmreleases",
            lambda ns: {"apiVersion": "helm.rudder.dev/v1alpha1", "kind": "HelmRelease",
                        "metadata": {"name": RELEASE, "namespace": ns,
                                     "labels": {SHARD_LABEL: shard_of(ns)}},
                        "spec": {"chart": {"name": CHART, "version": CHART_VERSION,
                                           "repositoryRef": {"name": "charts"}}}})
        done = wait_all(run, rels, a.timeout)
        run.finish(rels.ready_at, done)
        rels.stop()
        res = run.res
        res["cpu_s"] = sum(cpu_seconds(p.pid) - c for (p, _, _), c in zip(started, cpu0))
        res["peak_rss_mib"] = sum(peak_rss_mib(p.pid) for p, _, _ in started)
        res["shard_releases"] = [sum(1 for i in range(run.n) if shard_of(ns_name(i)) == f"s{j}")
                                 for j in range(k)]
        res["shard_reconciles"] = [metric_sum(port, "rudder_reconcile_total", key) - r0
                                   for (_, port, _), r0 in zip(started, rec0)]
        res["shard_reconciles_for_changes"] = [
            metric_sum(port, "rudder_reconcile_causes_total", CHANGE) - c0
            for (_, port, _), c0 in zip(started, ch0)]
        res["reconciles"] = sum(res["shard_reconciles"])
        records = run.api.request("GET", "/api/v1/secrets?labelSelector=owner%3Dhelm")["items"]
        res["records"] = sum(1 for s in records
                             if s["metadata"]["namespace"].startswith("scale-"))
    finally:
        for proc, _, logf in started:
            stop(proc)
            logf.close()
        run.close()
    run.res["warnings"] = sum(1 for j in range(k) for l in open(work / f"rudder-s{j}.log")
                              if '"WARN"' in l)
    run.res["conflict_warnings"] = sum(conflict_warnings(work / f"rudder-s{j}.log")
                                       for j in range(k))
    return run.res


def rudder_idle(run: Run, proc, port: int, seconds: float) -> None:
    """Idle after all Ready: rudder's CPU and writes over `seconds`."""
    log(f"rudder: idle for {seconds:.0f}s")
    w0 = metric_sum(port, "rudder_api_writes_total")
    cpu0 = cpu_seconds(proc.pid)
    start = datetime.now().astimezone()
    time.sleep(seconds)
    cpu = cpu_seconds(proc.pid) - cpu0
    run.windows["idle"] = (start, datetime.now().astimezone())
    run.res["idle_s"] = seconds
    run.res["idle_cpu_s"] = cpu
    run.res["idle_core_pct"] = 100 * cpu / seconds
    run.res["idle_metric_writes"] = metric_sum(port, "rudder_api_writes_total") - w0


def revision_two(obj) -> bool:
    st = obj.get("status", {})
    return (st.get("revision") == 2 and condition_true(obj)
            and st.get("observedGeneration", 0) >= obj["metadata"].get("generation", 0))


def rudder_storm(run: Run, port: int, m: int) -> None:
    """An upgrade storm: m HelmReleases get new values at once (a pod
    annotation, so each Deployment rolls); timed until all are at revision 2
    and Ready, and rudder's write metric is held against the audit log."""
    base = "/apis/helm.rudder.dev/v1alpha1"
    w = Watcher(run.api, f"{base}/helmreleases", revision_two)
    w.start()
    time.sleep(1)
    w0 = metric_sum(port, "rudder_api_writes_total")
    rec0 = metric_sum(port, "rudder_reconcile_total", 'kind="HelmRelease"')
    ch0 = metric_sum(port, "rudder_reconcile_causes_total", CHANGE)
    log(f"rudder: upgrade storm of {m} releases")
    start = datetime.now().astimezone()
    t0 = time.monotonic()
    patch = json.dumps({"spec": {"values": {"podAnnotations": {"storm": "1"}}}}).encode()
    pool_map(lambda i: run.api.request(
        "PATCH", f"{base}/namespaces/{ns_name(i)}/helmreleases/{RELEASE}", patch,
        ctype="application/merge-patch+json"), range(m), run.a.parallel)
    deadline = t0 + run.a.timeout
    while len(w.ready_at) < m and time.monotonic() < deadline:
        time.sleep(0.2)
    w.stop()
    time.sleep(2)  # the last status writes land
    run.windows["storm"] = (start, datetime.now().astimezone())
    run.res["storm_releases"] = m
    run.res["storm_done"] = len(w.ready_at)
    run.res["storm_all_s"] = max(w.ready_at.values()) - t0 if w.ready_at else float("nan")
    run.res["storm_metric_writes"] = metric_sum(port, "rudder_api_writes_total") - w0
    run.res["storm_reconciles"] = metric_sum(port, "rudder_reconcile_total", 'kind="HelmRelease"') - rec0
    # Reconciliations for the edits, apart from the periodic ones (every
    # spec.interval) that fall in the storm's window.
    run.res["storm_reconciles_for_changes"] = (
        metric_sum(port, "rudder_reconcile_causes_total", CHANGE) - ch0)


def rudder_restart(run: Run, a, work: Path, h: int) -> None:
    """h releases of helm's own (records only, each in its own namespace)
    join the N of rudder's; rudder restarts; its peak RSS once it has
    re-checked every release, and how long that took."""
    env = helm_env(work, run.plane.kubeconfig)
    chart = str(shared_index() / f"{CHART}-{CHART_VERSION}.tgz")
    dry = json.loads(subprocess.run(
        ["helm", "install", RELEASE, chart, "-n", "helm-00000", "--dry-run=client", "-o", "json"],
        env=env, check=True, text=True, capture_output=True).stdout)
    log(f"rudder: adding {h} helm release records, then restarting rudder")

    def add(i: int) -> None:
        ns = f"helm-{i:05d}"
        run.api.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                              "metadata": {"name": ns}})
        run.api.create(f"/api/v1/namespaces/{ns}/secrets", release_secret(dry, ns))

    pool_map(add, range(h), 10)
    proc, port, logf = start_rudder(a, work, run.plane.kubeconfig, "rudder-restart.log", "rudder-cache")
    try:
        t0 = time.monotonic()
        wait_http_ok(f"http://127.0.0.1:{port}/readyz", 120, proc)
        key = 'kind="HelmRelease"'
        wait_until("rudder re-checked every release",
                   lambda: metric_sum(port, "rudder_reconcile_total", key) >= run.n, a.timeout, 0.5)
        run.res["restart_recheck_s"] = time.monotonic() - t0
        w0 = metric_sum(port, "rudder_api_writes_total")
        time.sleep(30)
        run.res["restart_helm_records"] = h
        run.res["restart_peak_rss_mib"] = peak_rss_mib(proc.pid)
        run.res["restart_settled_writes"] = metric_sum(port, "rudder_api_writes_total") - w0
    finally:
        stop(proc)
        logf.close()


# --- helm CLI ------------------------------------------------------------------


def helm_env(work: Path, kubeconfig: str) -> dict:
    h = work / "helm"
    return {**os.environ, "KUBECONFIG": kubeconfig, "HELM_CACHE_HOME": str(h / "cache"),
            "HELM_CONFIG_HOME": str(h / "config"), "HELM_DATA_HOME": str(h / "data")}


def bench_helm(a, work: Path) -> dict:
    run = Run("helm", a, work)
    env = helm_env(work, run.plane.kubeconfig)
    try:
        create_namespaces(run.api, run.n)
        done_at: dict = {}
        usage = {"cpu": 0.0, "rss": 0, "failed": 0}
        lock = threading.Lock()

        def install(i: int) -> None:
            ns = ns_name(i)
            p = subprocess.Popen(["helm", "install", RELEASE, CHART, "--repo", REPO_URL,
                                  "--version", CHART_VERSION, "-n", ns, "--wait=watcher",
                                  "--timeout", f"{int(a.timeout)}s"],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            err = p.stderr.read()
            _, status, ru = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            with lock:
                usage["cpu"] += ru.ru_utime + ru.ru_stime
                usage["rss"] = max(usage["rss"], ru.ru_maxrss)
                if p.returncode == 0:
                    done_at[ns] = time.monotonic()
                else:
                    usage["failed"] += 1
                    if usage["failed"] <= 3:
                        log(f"helm install -n {ns} failed: {err.decode()[-300:]}")

        log(f"helm: installing {run.n} releases, {a.parallel} at a time")
        run.clock()
        pool_map(install, range(run.n), a.parallel)
        run.finish(done_at, datetime.now().astimezone())
        run.res["cpu_s"] = usage["cpu"]
        run.res["peak_rss_mib"] = usage["rss"] / 1024
        run.res["failed"] = usage["failed"]
    finally:
        run.close()
    return run.res


# --- floor ---------------------------------------------------------------------


def release_secret(dry_run: dict, ns: str) -> dict:
    """The Helm v4 release record (Secret driver) of revision 1, deployed."""
    rel = dict(dry_run, namespace=ns, version=1)
    now = datetime.now().astimezone().isoformat()
    rel["info"] = dict(rel.get("info", {}), status="deployed", description="Install complete",
                       first_deployed=now, last_deployed=now)
    blob = base64.b64encode(gzip.compress(json.dumps(rel, separators=(",", ":")).encode()))
    return {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
            "metadata": {"name": f"sh.helm.release.v1.{RELEASE}.v1", "namespace": ns,
                         "labels": {"name": RELEASE, "owner": "helm", "status": "deployed",
                                    "version": "1"}},
            "data": {"release": base64.b64encode(blob).decode()}}


def bench_floor(a, work: Path) -> dict:
    run = Run("floor", a, work)
    env = helm_env(work, run.plane.kubeconfig)
    try:
        chart = str(shared_index() / f"{CHART}-{CHART_VERSION}.tgz")
        rendered = subprocess.run(["helm", "template", RELEASE, chart, "-n", ns_name(0), "--skip-tests"],
                                  env=env, check=True, text=True, capture_output=True).stdout
        objs = yaml_docs(rendered, run.plane.kubeconfig)
        dry = json.loads(subprocess.run(
            ["helm", "install", RELEASE, chart, "-n", ns_name(0), "--dry-run=client", "-o", "json"],
            env=env, check=True, text=True, capture_output=True).stdout)
        paths = resource_paths(run.api, objs)
        create_namespaces(run.api, run.n)
        deps = Watcher(run.api, "/apis/apps/v1/deployments", deployment_available)
        deps.start()
        applied_at: dict = {}

        def install(i: int) -> None:
            ns = ns_name(i)
            for o, p in zip(objs, paths):
                path = p.format(ns=ns, name=o["metadata"]["name"])
                run.api.apply(path, o, "floor", ua=FLOOR_UA)
            run.api.request("POST", f"/api/v1/namespaces/{ns}/secrets", release_secret(dry, ns),
                            ua=FLOOR_UA)
            applied_at[ns] = time.monotonic()

        log(f"floor: applying {run.n} releases, {a.parallel} at a time")
        cpu0 = time.process_time()
        run.clock()
        pool_map(install, range(run.n), a.parallel)
        run.res["applied_s"] = max(applied_at.values()) - run.t0
        done = wait_all(run, deps, a.timeout)
        deps.stop()
        ready = {ns: max(t, deps.ready_at[ns]) for ns, t in applied_at.items() if ns in deps.ready_at}
        run.finish(ready, done)
        run.res["cpu_s"] = time.process_time() - cpu0
        run.res["peak_rss_mib"] = float("nan")
    finally:
        run.close()
    return run.res


def yaml_docs(text: str, kubeconfig: str) -> list:
    """helm template's YAML documents as objects (kubectl converts them)."""
    out = subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "create", "--dry-run=client",
                          "-o", "json", "-f", "-"],
                         input=text, text=True, check=True, capture_output=True).stdout
    objs, dec, i = [], json.JSONDecoder(), 0
    while i < len(out):
        if out[i].isspace():
            i += 1
            continue
        o, i = dec.raw_decode(out, i)
        objs.extend(o["items"] if o.get("kind") == "List" else [o])
    return objs


def resource_paths(api: Api, objs: list) -> list:
    """`/api…/namespaces/{ns}/<plural>/{name}` for each object, from discovery."""
    paths = []
    for o in objs:
        gv = o["apiVersion"]
        prefix = f"/api/{gv}" if "/" not in gv else f"/apis/{gv}"
        found = next(r for r in api.request("GET", prefix)["resources"]
                     if r["kind"] == o["kind"] and "/" not in r["name"])
        o.setdefault("metadata", {}).pop("namespace", None)
        if found["namespaced"]:
            paths.append(f"{prefix}/namespaces/{{ns}}/{found['name']}/{{name}}")
        else:
            paths.append(f"{prefix}/{found['name']}/{{name}}")
    return paths


# --- Flux ----------------------------------------------------------------------


def flux_binaries() -> Path:
    out = subprocess.run([str(ROOT / "scripts" / "bench-scale-flux.sh")], check=True, text=True,
                         stdout=subprocess.PIPE).stdout
    return Path(out.strip().splitlines()[-1])


def bench_flux(a, work: Path, bins: Path) -> dict:
    run = Run("flux", a, work)
    kc = run.plane.kubeconfig
    procs = []
    try:
        crds = "\n---\n".join(p.read_text() for p in sorted((bins / "crds").glob("*.yaml")))
        kubectl_apply(kc, crds)
        create_namespaces(run.api, run.n)
        env = {**os.environ, "KUBECONFIG": kc}
        storage = work / "flux-storage"
        storage.mkdir(exist_ok=True)
        sport, smet, shealth, hmet, hhealth = (free_port() for _ in range(5))
        common = ["--enable-leader-election=false", "--log-level=error",
                  f"--concurrent={a.flux_concurrent}"]
        slog = open(work / "source-controller.log", "w")
        procs.append(subprocess.Popen(
            [str(bins / "source-controller"), *common, f"--metrics-addr=127.0.0.1:{smet}",
             f"--health-addr=127.0.0.1:{shealth}", f"--storage-path={storage}",
             f"--storage-addr=127.0.0.1:{sport}", f"--storage-adv-addr=127.0.0.1:{sport}"],
            stdout=slog, stderr=slog, env=env))
        hlog = open(work / "helm-controller.log", "w")
        procs.append(subprocess.Popen(
            [str(bins / "helm-controller"), *common, f"--metrics-addr=127.0.0.1:{hmet}",
             f"--health-addr=127.0.0.1:{hhealth}"],
            stdout=hlog, stderr=hlog, env=env))
        wait_http_ok(f"http://127.0.0.1:{shealth}/readyz", 120, procs[0])
        wait_http_ok(f"http://127.0.0.1:{hhealth}/readyz", 120, procs[1])
        src = "/apis/source.toolkit.fluxcd.io/v1"
        pool_map(lambda i: run.api.create(
            f"{src}/namespaces/{ns_name(i)}/helmrepositories",
            {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
             "metadata": {"name": "charts", "namespace": ns_name(i)},
             "spec": {"url": REPO_URL, "interval": "60m"}}), range(run.n), 10)
        repos = Watcher(run.api, f"{src}/helmrepositories", condition_true)
        repos.start()
        wait_until("Flux HelmRepositories Ready", lambda: len(repos.ready_at) >= run.n, 600, 0.5)
        repos.stop()
        hr = "/apis/helm.toolkit.fluxcd.io/v2"
        rels = Watcher(run.api, f"{hr}/helmreleases", condition_true)
        rels.start()
        time.sleep(1)
        rec0 = metric_sum(hmet, "controller_runtime_reconcile_total", 'controller="helmrelease"')
        cpu0 = sum(cpu_seconds(p.pid) for p in procs)
        log(f"flux: creating {run.n} HelmReleases")
        run.clock()
        create_releases(
            run, lambda ns: f"{hr}/namespaces/{ns}/helmreleases",
            lambda ns: {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                        "metadata": {"name": RELEASE, "namespace": ns},
                        "spec": {"interval": "60m", "chart": {"spec": {
                            "chart": CHART, "version": CHART_VERSION,
                            "sourceRef": {"kind": "HelmRepository", "name": "charts"}}}}})
        done = wait_all(run, rels, a.timeout)
        run.finish(rels.ready_at, done)
        rels.stop()
        run.res["cpu_s"] = sum(cpu_seconds(p.pid) for p in procs) - cpu0
        run.res["peak_rss_mib"] = sum(peak_rss_mib(p.pid) for p in procs)
        run.res["reconciles"] = metric_sum(
            hmet, "controller_runtime_reconcile_total", 'controller="helmrelease"') - rec0
    finally:
        for p in procs:
            stop(p)
        run.close()
    return run.res


# --- report --------------------------------------------------------------------


def fmt(x, spec=".1f") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return format(x, spec)


def report(rows: list, machine: str) -> None:
    print()
    print(machine)
    cols = [("tool", "tool", "s"), ("releases", "ready", "d"), ("first Ready s", "first_s", ".1f"),
            ("p50 s", "p50_s", ".1f"), ("p90 s", "p90_s", ".1f"), ("all Ready s", "all_s", ".1f"),
            ("peak RSS MiB", "peak_rss_mib", ".1f"), ("CPU s", "cpu_s", ".2f"),
            ("API server CPU s", "apiserver_cpu_s", ".1f"), ("API req/install", "req_per_install", ".1f"),
            ("writes/install", "writes_per_install", ".1f"), ("reconciles", "reconciles", ".0f"),
            ("load", "load", ".2f")]
    print("| " + " | ".join(c[0] for c in cols) + " |")
    print("|" + "|".join("---" if c[1] == "tool" else "---:" for c in cols) + "|")
    for r in rows:
        cells = []
        for _, key, spec in cols:
            v = r.get(key)
            if key == "ready":
                v = f"{r.get('ready', 0)}/{r['releases']}"
                spec = "s"
            cells.append(fmt(v, spec) if spec != "s" else str(v))
        print("| " + " | ".join(cells) + " |")
    by = {r["tool"]: r for r in rows}
    ru = by.get("rudder")
    if ru:
        print()
        for other in ("flux", "helm", "floor"):
            o = by.get(other)
            if not o:
                continue
            parts = [f"all Ready {ratio(o.get('all_s'), ru.get('all_s'))}× rudder's time",
                     f"first Ready {ratio(o.get('first_s'), ru.get('first_s'))}×",
                     f"API requests {ratio(o.get('req_per_install'), ru.get('req_per_install'))}×"]
            if other != "floor":
                parts.append(f"CPU {ratio(o.get('cpu_s'), ru.get('cpu_s'))}×")
            if other == "flux":
                parts.append(f"peak memory {ratio(o.get('peak_rss_mib'), ru.get('peak_rss_mib'))}×")
            print(f"{other} vs rudder: " + ", ".join(parts))
    sh = by.get("shards")
    if sh and "shard_releases" in sh:
        exact = sh["shard_reconciles_for_changes"] == [float(x) for x in sh["shard_releases"]]
        print(f"shards: releases per shard {sh['shard_releases']}, reconciled for their creation "
              f"{[int(x) for x in sh['shard_reconciles_for_changes']]} "
              f"({'each by its own shard, once' if exact else 'NOT one reconcile per release'}), "
              f"{sh.get('records')} release records for {sh['releases']} releases")
    print()
    for r in rows:
        extra = {k: r[k] for k in ("phase_s", "plane_start_s", "applied_s", "warnings", "conflict_warnings",
                                   "failed", "shard_releases", "shard_reconciles",
                                   "shard_reconciles_for_changes", "records", "requests",
                                   "writes", "writes_no_leases", "dry_run_writes", "metric_writes",
                                   "watches") if k in r}
        extra.update({k: v for k, v in r.items()
                      if k.startswith(("idle_", "storm_", "restart_"))})
        print(f"{r['tool']}: {json.dumps(extra)}")
        print(f"  top requests: {json.dumps(r.get('requests_by', {}))}")
        print(f"  requests by user agent: {json.dumps(r.get('user_agents', {}))}")


def ratio(x, y) -> str:
    if x is None or y is None or not y or math.isnan(x) or math.isnan(y):
        return "-"
    return f"{x / y:.1f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--releases", type=int, default=100)
    p.add_argument("--tools", default=",".join(ALL_TOOLS))
    p.add_argument("--rudder-binary", help="default: scripts/build-release.sh builds it")
    p.add_argument("--rudder-args", default="", help="extra `rudder run` flags, e.g. '--concurrency 16'")
    p.add_argument("--parallel", type=int, default=10,
                   help="helm installs, floor releases and HelmRelease creations at a time")
    p.add_argument("--flux-concurrent", type=int, default=10)
    p.add_argument("--timeout", type=float, default=1800, help="seconds for one tool to finish")
    p.add_argument("--json", help="also write the rows to this file")
    p.add_argument("--shards", type=int, default=3,
                   help="rudder processes of the `shards` tool, each `--shard s<K>`")
    p.add_argument("--plane-qps", type=int, default=500,
                   help="client QPS of the control plane's controller manager and scheduler "
                        "(0: Kubernetes' defaults, 20 and 50)")
    p.add_argument("--idle", type=float, default=0,
                   help="rudder: seconds idle after all Ready, its CPU and writes measured")
    p.add_argument("--storm", type=int, default=0,
                   help="rudder: then upgrade this many releases at once")
    p.add_argument("--helm-records", type=int, default=0,
                   help="rudder: then add this many helm release records and restart rudder")
    a = p.parse_args()
    tools = [t for t in a.tools.split(",") if t]
    if bad := set(tools) - set(ALL_TOOLS) - set(EXTRA_TOOLS):
        sys.exit(f"unknown tools: {', '.join(sorted(bad))}")
    for tool in ("helm", "kubectl", "go", "openssl", "curl"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is required on PATH")
    if "rudder" in tools and not a.rudder_binary:
        a.rudder_binary = subprocess.run([str(ROOT / "scripts" / "build-release.sh")], check=True,
                                         text=True, stdout=subprocess.PIPE).stdout.strip().splitlines()[-1]
    bins = flux_binaries() if "flux" in tools else None
    machine = (f"machine: {os.cpu_count()} cores, "
               f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
               f"load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
               f"{a.releases} releases of {CHART} {CHART_VERSION}, a fresh control plane per tool, "
               f"controller manager and scheduler client QPS {a.plane_qps or 'Kubernetes defaults'}")
    log(machine)
    srv = serve_index()
    rows = []
    work = Path(tempfile.mkdtemp(prefix="rudder-bench-scale-"))
    ok = False
    try:
        for tool in tools:
            log(f"--- {tool}")
            if tool == "rudder":
                rows.append(bench_rudder(a, work))
            elif tool == "helm":
                rows.append(bench_helm(a, work))
            elif tool == "floor":
                rows.append(bench_floor(a, work))
            elif tool == "shards":
                rows.append(bench_shards(a, work))
            else:
                rows.append(bench_flux(a, work, bins))
            log(f"{tool}: {json.dumps({k: v for k, v in rows[-1].items() if k not in ('requests_by', 'user_agents')})}")
        ok = True
    finally:
        if srv:
            srv.shutdown()
        if ok:
            if os.environ.get("RUDDER_BENCH_KEEP"):
                log(f"kept {work} (RUDDER_BENCH_KEEP)")
            else:
                shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"logs kept in {work}")
    report(rows, machine)
    if a.json:
        Path(a.json).write_text(json.dumps({"machine": machine, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
