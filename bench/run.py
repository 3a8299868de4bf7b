#!/usr/bin/env python3
"""casebridge's benchmarks: one run, every figure, both backends.

Builds in release mode; measures two ceilings with bench/ceiling: a bare actix-web plaintext
handler (the framework's own throughput, which the targets are stated against) and an actix-web
handler that verifies a bearer token and serialises a case-sized JSON document without storage
(what is left once the token and the JSON are paid for). Then, on SQLite and on PostgreSQL,
seeds CASES cases (3 comments each, over 100 reseller domains and 10,000 customers) with
`casebridge seed`, starts the release server and drives it with wrk at 64 connections:
GET /v1/cases/{id}, GET /v1/cases (first page and page 1,000), a keyword search and POST (file a
case). Prints a table (requests/s, p50, p95, p99, share of each ceiling, target per backend,
peak memory) and writes bench/RESULTS.md.

Usage: bench/run.py [--cases N] [--duration S] [--backends sqlite,postgres] [--pg-url URL]
       [--no-results]     (print only; do not rewrite bench/RESULTS.md)
       [--no-build]       (measure the release binaries already built: the run before a change)
       [--ceilings-only]  (measure the two ceilings only, print them; nothing is seeded or written)
Needs wrk (Debian's package; installed with apt-get when missing).
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = ROOT / "target/release/casebridge"
CEILING = ROOT / "target/release/casebridge-bench-ceiling"
# Any id will do: the authenticated ceiling builds its case from the id in the path.
CEILING_CASE_ID = "0190b5c2-7e1a-7c3e-9d1f-2a3b4c5d6e7f"
PASSWORD = "bench pass phrase 1"
RESELLERS = 100
CUSTOMERS = 10_000
COMMENTS = 3
PAGE = 10          # page size of the list runs: a reseller holds CASES / 100 cases
DEEP_PAGE = 1_000  # with 1,000,000 cases, page 1,000 of 10 is a reseller's last
KEYWORD = "calendar"
CONNECTIONS = 64
THREADS = 2

# wrk script: method, body and headers from the environment; prints one JSON line at the end.
WRK_LUA = r"""
wrk.method = os.getenv("BENCH_METHOD")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
local body = os.getenv("BENCH_BODY")
if body ~= nil and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "p50": %f, "p95": %f, "p99": %f, "non2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http(method, url, token=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null")


def wait_ready(url, proc):
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def wrk(url, method="GET", token="", body="", duration=10, lua=None, connections=CONNECTIONS):
    env = {**os.environ, "BENCH_METHOD": method, "BENCH_TOKEN": token, "BENCH_BODY": body}
    threads = min(THREADS, connections)
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s",
           "--timeout", "10s", "-s", lua, url]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    result = json.loads(next(l for l in out.splitlines() if l.startswith("{")))
    result["rps"] = result["requests"] / result["seconds"]
    return result


def measure(name, url, lua, duration, method="GET", token="", body="", connections=CONNECTIONS):
    wrk(url, method, token, body, duration=2, lua=lua, connections=connections)  # warm-up
    r = wrk(url, method, token, body, duration=duration, lua=lua, connections=connections)
    if r["non2xx"] or r["socket_errors"]:
        raise SystemExit(f"{name}: {r['non2xx']} non-2xx answers, {r['socket_errors']} socket errors")
    log(f"  {name:<34} {r['rps']:>9.0f} req/s  p50 {r['p50']:.2f} ms  p99 {r['p99']:.2f} ms")
    return r


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_gb = int(f.readline().split()[1]) / 1024 / 1024
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory": f"{mem_gb:.0f} GiB",
        "kernel": platform.release(), "postgres": pg,
        "wrk": " ".join(wrk_version.split()[:2]) if wrk_version else "wrk",
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                 capture_output=True, text=True).stdout.strip(),
        "date": datetime.date.today().isoformat(),
    }


def ceiling(lua, duration):
    """Both ceilings, one server, the same wrk settings as every endpoint: the bare plaintext
    handler, and the storage-less authenticated case read with a token the ceiling signs."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    token = subprocess.run([str(CEILING), "token"], capture_output=True, text=True,
                           check=True).stdout.strip()
    proc = subprocess.Popen([str(CEILING), f"127.0.0.1:{port}"])
    try:
        wait_ready(f"{base}/plaintext", proc)
        log("ceilings: bare actix-web plaintext; token and case JSON without storage")
        plain = measure("GET /plaintext", f"{base}/plaintext", lua, duration)
        auth_json = measure("GET /v1/cases/{id} (no storage)",
                            f"{base}/v1/cases/{CEILING_CASE_ID}", lua, duration, token=token)
        log(f"  the authenticated-JSON ceiling is {100 * auth_json['rps'] / plain['rps']:.1f}% "
            "of the plaintext one")
        return {"plaintext": plain, "auth_json": auth_json, "peak_mb": peak_rss_mb(proc.pid)}
    finally:
        proc.terminate()
        proc.wait()


def backend_run(backend, cases, pg_url, lua, duration):
    data = pathlib.Path(tempfile.mkdtemp(prefix=f"casebridge-bench-{backend}-"))
    env = {**os.environ, "CASEBRIDGE_DATA_DIR": str(data), "RUST_LOG": "warn"}
    env.pop("CASEBRIDGE_DATABASE_URL", None)
    scratch = None
    if backend == "postgres":
        scratch = f"bench_{int(time.time())}"
        subprocess.run(["psql", pg_url, "-qc", f'CREATE DATABASE "{scratch}"'], check=True)
        env["CASEBRIDGE_DATABASE_URL"] = pg_url.rsplit("/", 1)[0] + "/" + scratch
    try:
        log(f"{backend}: seeding {cases:,} cases")
        started = time.monotonic()
        seeded = subprocess.run(
            ["/usr/bin/time", "-f", "%M", str(BIN), "seed", "--cases", str(cases),
             "--resellers", str(RESELLERS), "--customers", str(CUSTOMERS),
             "--comments-per-case", str(COMMENTS), "--password", PASSWORD],
            env=env, capture_output=True, text=True)
        if seeded.returncode != 0:
            raise SystemExit(f"seed failed: {seeded.stderr}")
        seed_seconds = time.monotonic() - started
        seed_peak_mb = int(seeded.stderr.strip().splitlines()[-1]) / 1024
        log(f"  {seeded.stdout.strip()}  (peak {seed_peak_mb:.0f} MB)")

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([str(BIN), "serve"],
                                  env={**env, "CASEBRIDGE_BIND": f"127.0.0.1:{port}"})
        try:
            wait_ready(f"{base}/readyz", server)
            token = http("POST", f"{base}/v1/auth/token", body={
                "domain": "reseller-000.seed.example",
                "email": "admin@reseller-000.seed.example", "password": PASSWORD})["access_token"]
            first = http("GET", f"{base}/v1/cases?page_size={PAGE}", token)
            visible = first["total_size"]
            case_id = first["cases"][0]["id"]
            # Walk to page 1,000 (or the last page, with fewer cases) for its token.
            page, deep, page_token, deep_token = 1, first, first["next_page_token"], ""
            while page < DEEP_PAGE and page_token:
                deep_token = page_token
                deep = http("GET", f"{base}/v1/cases?page_size={PAGE}&page_token={deep_token}", token)
                page, page_token = page + 1, deep["next_page_token"]
            customer = http("GET", f"{base}/v1/customers?page_size=1", token)["customers"][0]
            classifications = http("GET", f"{base}/v1/case-classifications?page_size=100",
                                   token)["case_classifications"]
            category = next(c for c in classifications if c["product_type"] == "google_workspace")
            answers = {q["id"]: "Since Monday" for q in category["questions"] if q["required"]}
            found = http("GET", f"{base}/v1/cases?q={KEYWORD}&page_size={PAGE}", token)["total_size"]
            log(f"  reseller-000 sees {visible:,} cases; page {page} reached; "
                f"'{KEYWORD}' finds {found:,}")
            create_body = json.dumps({
                "product_type": "google_workspace", "title": "Calendar sync fails on phones",
                "classification_id": category["id"], "answers": answers,
                "description": "Since Monday, shared calendars do not sync on managed phones.",
                "severity": "P3", "language_code": "en-US", "time_zone": "Europe/Berlin"})
            results = {
                "get_case": measure("GET /v1/cases/{id}", f"{base}/v1/cases/{case_id}", lua,
                                    duration, token=token),
                "first_page": measure(f"GET /v1/cases (page 1 of {PAGE})",
                                      f"{base}/v1/cases?page_size={PAGE}", lua, duration,
                                      token=token),
                "deep_page": measure(f"GET /v1/cases (page {page})",
                                     f"{base}/v1/cases?page_size={PAGE}&page_token={deep_token}",
                                     lua, duration, token=token),
                "search": measure(f"GET /v1/cases?q={KEYWORD}",
                                  f"{base}/v1/cases?q={KEYWORD}&page_size={PAGE}", lua, duration,
                                  token=token),
                # The same search one request at a time: its own latency, without the queue
                # that 64 connections on two cores build in front of it.
                "search_alone": measure(f"GET /v1/cases?q={KEYWORD} (1 conn)",
                                        f"{base}/v1/cases?q={KEYWORD}&page_size={PAGE}", lua,
                                        duration, token=token, connections=1),
                "create": measure("POST /v1/customers/{id}/cases",
                                  f"{base}/v1/customers/{customer['id']}/cases", lua, duration,
                                  method="POST", token=token, body=create_body),
            }
            peak = peak_rss_mb(server.pid)
            log(f"  server peak memory {peak:.0f} MB")
            return {"results": results, "server_peak_mb": peak, "seed_seconds": seed_seconds,
                    "seed_peak_mb": seed_peak_mb, "visible": visible, "deep_page": page,
                    "found": found}
        finally:
            server.terminate()
            server.wait()
    finally:
        shutil.rmtree(data, ignore_errors=True)
        if scratch:
            subprocess.run(["psql", pg_url, "-qc", f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'])


# Issue 17's targets, per backend: (kind, value), where kind is "share" (of the plaintext
# ceiling), "p95" (milliseconds, under) or "rps" (requests/s, at least). A backend without an
# entry is measured without a target.
TARGETS = {
    "get_case": {"sqlite": ("share", 0.25), "postgres": ("share", 0.12)},
    "first_page": {"sqlite": ("share", 0.10), "postgres": ("share", 0.06)},
    "deep_page": {"sqlite": ("share", 0.10), "postgres": ("share", 0.06)},
    "search": {"sqlite": ("p95", 50), "postgres": ("p95", 50)},
    # The same search one request at a time: its own cost, shown beside the loaded figure.
    "search_alone": {},
    "create": {"sqlite": ("rps", 2000), "postgres": ("rps", 1500)},
}
# Peak RSS of the server after every run, in MB, under.
MEMORY_TARGETS_MB = {"sqlite": 150}
LABELS = {
    "get_case": "`GET /v1/cases/{{id}}`",
    "first_page": "`GET /v1/cases`, page 1",
    "deep_page": "`GET /v1/cases`, page {deep}",
    "search": "`GET /v1/cases?q=calendar`",
    "search_alone": "`GET /v1/cases?q=calendar`, 1 connection",
    "create": "`POST /v1/customers/{{id}}/cases`",
}


def target_text(key, backend):
    target = TARGETS[key].get(backend)
    if target is None:
        return ""
    kind, value = target
    if kind == "share":
        return f"≥ {100 * value:g}% of the plaintext ceiling"
    if kind == "p95":
        return f"p95 < {value:g} ms"
    return f"≥ {value:,} req/s"


def verdict(key, backend, r, ceiling_rps):
    """Whether the figure meets its backend's target; None when it has none."""
    target = TARGETS[key].get(backend)
    if target is None:
        return None
    kind, value = target
    if kind == "share":
        return r["rps"] / ceiling_rps >= value
    if kind == "p95":
        return r["p95"] < value
    return r["rps"] >= value


def met(ok):
    return "" if ok is None else "yes" if ok else "**no**"


def table(runs, ceil):
    plain, auth = ceil["plaintext"], ceil["auth_json"]
    lines = [
        "| endpoint | backend | req/s | p50 ms | p95 ms | p99 ms | share of plaintext ceiling "
        "| share of authenticated-JSON ceiling | target | met |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
        f"| bare actix-web plaintext (ceiling) | — | {plain['rps']:,.0f} | {plain['p50']:.2f} | "
        f"{plain['p95']:.2f} | {plain['p99']:.2f} | 100% | | | |",
        f"| token and case JSON, no storage (ceiling) | — | {auth['rps']:,.0f} | "
        f"{auth['p50']:.2f} | {auth['p95']:.2f} | {auth['p99']:.2f} | "
        f"{100 * auth['rps'] / plain['rps']:.1f}% | 100% | | |",
    ]
    for key in LABELS:
        for backend, run in runs.items():
            r = run["results"][key]
            label = LABELS[key].format(deep=run["deep_page"])
            lines.append(
                f"| {label} | {backend} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p95']:.2f} | "
                f"{r['p99']:.2f} | {100 * r['rps'] / plain['rps']:.1f}% | "
                f"{100 * r['rps'] / auth['rps']:.1f}% | {target_text(key, backend)} | "
                f"{met(verdict(key, backend, r, plain['rps']))} |")
    for backend, run in runs.items():
        ratio = run["results"]["first_page"]["rps"] / run["results"]["deep_page"]["rps"]
        lines.append(f"\nPage {run['deep_page']} against page 1 on {backend}: page 1 serves "
                     f"{ratio:.2f}× the requests/s of page {run['deep_page']}.")
    return "\n".join(lines)


def memory_table(runs, ceil):
    lines = ["| process | backend | peak memory (RSS) | target | met |",
             "| --- | --- | ---: | --- | --- |",
             f"| ceiling server (both ceilings) | — | {ceil['peak_mb']:.0f} MB | | |"]
    for backend, run in runs.items():
        limit = MEMORY_TARGETS_MB.get(backend)
        target = f"< {limit} MB" if limit is not None else ""
        ok = None if limit is None else run["server_peak_mb"] < limit
        lines.append(f"| casebridge serve, after every run above | {backend} | "
                     f"{run['server_peak_mb']:.0f} MB | {target} | {met(ok)} |")
        lines.append(f"| casebridge seed | {backend} | {run['seed_peak_mb']:.0f} MB | | |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cases", type=int, default=1_000_000)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--backends", default="sqlite,postgres")
    p.add_argument("--pg-url", default=os.environ.get(
        "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    p.add_argument("--no-results", action="store_true")
    p.add_argument("--no-build", action="store_true",
                   help="measure the release binaries as they are (a run before a change)")
    p.add_argument("--ceilings-only", action="store_true",
                   help="measure the two ceilings only and print them; seeds and writes nothing")
    args = p.parse_args()

    if shutil.which("wrk") is None:
        log("installing wrk (Debian)")
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True)
    if not args.no_build:
        log("building (release)")
        packages = ["-p", "casebridge-bench-ceiling"]
        if not args.ceilings_only:
            packages = ["-p", "casebridge-api", *packages]
        subprocess.run(["cargo", "build", "--release", "-q", *packages, "--bins"], cwd=ROOT,
                       check=True)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_LUA)
        lua = f.name
    ceil = ceiling(lua, args.duration)
    runs = {}
    if args.ceilings_only:
        os.unlink(lua)
        print(table(runs, ceil))
        return
    info = machine()
    for backend in args.backends.split(","):
        runs[backend] = backend_run(backend, args.cases, args.pg_url, lua, args.duration)
    os.unlink(lua)

    seeds = "\n".join(
        f"- {backend}: `casebridge seed` wrote {args.cases:,} cases with {args.cases * COMMENTS:,} "
        f"comments over {RESELLERS} reseller domains and {CUSTOMERS:,} customers in "
        f"{run['seed_seconds']:.0f} s ({args.cases / run['seed_seconds']:,.0f} cases/s); "
        f"the measured reseller sees {run['visible']:,} cases, '{KEYWORD}' finds {run['found']:,}."
        for backend, run in runs.items())
    report = f"""## Run of {info['date']} (commit {info['commit']})

Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}, Linux {info['kernel']};
{info['postgres']}; {info['wrk']}. Load: wrk, {THREADS} threads, {CONNECTIONS} connections,
{args.duration} s per figure after a 2 s warm-up, on the same machine as the server (both
ceilings are measured the same way, the authenticated one with a token it signs). Signed in as
`admin@reseller-000.seed.example`; lists use pages of {PAGE}.

{seeds}

{table(runs, ceil)}

{memory_table(runs, ceil)}
"""
    print(report)
    if not args.no_results:
        results = ROOT / "bench/RESULTS.md"
        marker = "\n<!-- results -->\n"
        head = results.read_text().split(marker)[0] if results.exists() else ""
        results.write_text(head + marker + "\n" + report)
        log(f"written to {results}")


if __name__ == "__main__":
    main()
