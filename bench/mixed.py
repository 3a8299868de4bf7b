#!/usr/bin/env python3
"""casebridge under concurrent writes: a bounded mixed load on each backend, counting 5xx.

Seeds a small world with `casebridge seed` (4 reseller domains, 16 customers, 2,000 cases),
files 32 open cases of four customers of `reseller-000` through the API, then drives the release
server with wrk at 32 connections for DURATION seconds. Each request is drawn at random:
severity changes (P2 <-> P3, the writes that contend for one customer's running counts) 30%,
comments 25%, reads of a case 25%, the first page of My cases 10%, new cases 10%. Reports
requests/s, p50/p99 and the count of answers by class; the run fails when any answer is a 5xx.

Usage: bench/mixed.py [--duration S] [--backends sqlite,postgres] [--pg-url URL] [--results]
       (--results appends the figures to bench/RESULTS.md)
"""

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from run import BIN, ROOT, free_port, http, log, machine, peak_rss_mb, wait_ready  # noqa: E402

PASSWORD = "bench pass phrase 1"
CONNECTIONS = 32
THREADS = 2

MIXED_LUA = r"""
local cases, customers = {}, {}
for id in string.gmatch(os.getenv("BENCH_CASES"), "[^,]+") do table.insert(cases, id) end
for id in string.gmatch(os.getenv("BENCH_CUSTOMERS"), "[^,]+") do table.insert(customers, id) end
local auth = "Bearer " .. os.getenv("BENCH_TOKEN")
local create = os.getenv("BENCH_CREATE")
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  ok, client, server, n = 0, 0, 0, 0
  math.randomseed(os.time() + #threads * 7919)
end
function request()
  n = n + 1
  local r = math.random(100)
  local case = cases[math.random(#cases)]
  local h = {["Authorization"] = auth, ["Content-Type"] = "application/json"}
  if r <= 30 then
    local sev = (math.random(2) == 1) and "P2" or "P3"
    return wrk.format("PATCH", "/v1/cases/" .. case, h, '{"severity":"' .. sev .. '"}')
  elseif r <= 55 then
    return wrk.format("POST", "/v1/cases/" .. case .. "/comments", h,
      '{"body":"Observation ' .. n .. ' from the partner desk."}')
  elseif r <= 80 then
    return wrk.format("GET", "/v1/cases/" .. case, h)
  elseif r <= 90 then
    return wrk.format("GET", "/v1/cases?page_size=10", h)
  else
    local customer = customers[math.random(#customers)]
    return wrk.format("POST", "/v1/customers/" .. customer .. "/cases", h, create)
  end
end
function response(status, headers, body)
  if status >= 500 then server = server + 1
  elseif status >= 400 then client = client + 1
  else ok = ok + 1 end
end
function done(summary, latency, requests)
  local o, c, s = 0, 0, 0
  for _, t in ipairs(threads) do
    o = o + t:get("ok"); c = c + t:get("client"); s = s + t:get("server")
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "p50": %f, "p99": %f, "max": %f, "ok": %d, "client_errors": %d, "server_errors": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, o, c, s,
    e.connect + e.read + e.write + e.timeout))
end
"""


def run_backend(backend, pg_url, duration, lua):
    data = pathlib.Path(tempfile.mkdtemp(prefix=f"casebridge-mixed-{backend}-"))
    env = {**os.environ, "CASEBRIDGE_DATA_DIR": str(data), "RUST_LOG": "warn"}
    env.pop("CASEBRIDGE_DATABASE_URL", None)
    scratch = None
    if backend == "postgres":
        scratch = f"bench_mixed_{int(time.time())}"
        subprocess.run(["psql", pg_url, "-qc", f'CREATE DATABASE "{scratch}"'], check=True)
        env["CASEBRIDGE_DATABASE_URL"] = pg_url.rsplit("/", 1)[0] + "/" + scratch
    try:
        subprocess.run([str(BIN), "seed", "--cases", "2000", "--resellers", "4", "--customers",
                        "16", "--comments-per-case", "1", "--password", PASSWORD],
                       env=env, check=True, capture_output=True)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([str(BIN), "serve"],
                                  env={**env, "CASEBRIDGE_BIND": f"127.0.0.1:{port}"})
        try:
            wait_ready(f"{base}/readyz", server)
            token = http("POST", f"{base}/v1/auth/token", body={
                "domain": "reseller-000.seed.example",
                "email": "admin@reseller-000.seed.example", "password": PASSWORD})["access_token"]
            customers = [c["id"] for c in
                         http("GET", f"{base}/v1/customers?page_size=4", token)["customers"]]
            cats = http("GET", f"{base}/v1/case-classifications?page_size=100",
                        token)["case_classifications"]
            category = next(c for c in cats if c["product_type"] == "google_workspace")
            answers = {q["id"]: "Since Monday" for q in category["questions"] if q["required"]}
            body = {
                "product_type": "google_workspace", "title": "Calendar sync fails on phones",
                "classification_id": category["id"], "answers": answers,
                "description": "Since Monday, shared calendars do not sync on managed phones.",
                "severity": "P2", "language_code": "en-US", "time_zone": "Europe/Berlin"}
            cases = [http("POST", f"{base}/v1/customers/{customers[i % len(customers)]}/cases",
                          token, body)["id"] for i in range(32)]
            env_wrk = {**os.environ, "BENCH_TOKEN": token, "BENCH_CASES": ",".join(cases),
                       "BENCH_CUSTOMERS": ",".join(customers), "BENCH_CREATE": json.dumps(body)}
            cmd = ["wrk", "-t", str(THREADS), "-c", str(CONNECTIONS), "-d", f"{duration}s",
                   "--timeout", "20s", "-s", lua, base]
            out = subprocess.run(cmd, env=env_wrk, capture_output=True, text=True,
                                 check=True).stdout
            r = json.loads(next(l for l in out.splitlines() if l.startswith("{")))
            r["rps"] = r["requests"] / r["seconds"]
            r["peak_mb"] = peak_rss_mb(server.pid)
            log(f"  {backend:<9} {r['requests']:>7,} requests  {r['rps']:>7.0f} req/s  "
                f"p50 {r['p50']:.1f} ms  p99 {r['p99']:.1f} ms  max {r['max']:.0f} ms  "
                f"2xx {r['ok']:,}  4xx {r['client_errors']:,}  5xx {r['server_errors']}  "
                f"socket errors {r['socket_errors']}")
            return r
        finally:
            server.terminate()
            server.wait()
    finally:
        shutil.rmtree(data, ignore_errors=True)
        if scratch:
            subprocess.run(["psql", pg_url, "-qc",
                            f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--duration", type=int, default=60)
    p.add_argument("--backends", default="sqlite,postgres")
    p.add_argument("--pg-url", default=os.environ.get(
        "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    p.add_argument("--results", action="store_true")
    args = p.parse_args()
    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True)
    log("building (release)")
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "casebridge-api", "--bins"],
                   cwd=ROOT, check=True)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(MIXED_LUA)
        lua = f.name
    runs = {b: run_backend(b, args.pg_url, args.duration, lua) for b in args.backends.split(",")}
    os.unlink(lua)
    info = machine()
    rows = "\n".join(
        f"| {b} | {r['requests']:,} | {r['rps']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} | "
        f"{r['max']:,.0f} | {r['ok']:,} | {r['client_errors']:,} | {r['server_errors']} | "
        f"{r['socket_errors']} |" for b, r in runs.items())
    report = f"""### Mixed write load, {info['date']} (commit {info['commit']})

`bench/mixed.py --duration {args.duration}`: wrk, {THREADS} threads, {CONNECTIONS} connections,
{args.duration} s; severity changes 30%, comments 25%, reads 25%, first page 10%, new cases 10%,
on 32 open cases of four customers of one reseller.

| backend | requests | req/s | p50 ms | p99 ms | max ms | 2xx | 4xx | 5xx | socket errors |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
{rows}
"""
    print(report)
    if args.results:
        # Between its own markers, in the part of RESULTS.md that bench/run.py keeps.
        results = ROOT / "bench/RESULTS.md"
        text = results.read_text()
        start, end = "<!-- mixed -->\n", "<!-- /mixed -->\n"
        if start in text and end in text:
            text = text.split(start)[0] + start + report + end + text.split(end, 1)[1]
        else:
            text = text.replace("\n<!-- results -->\n",
                                "\n" + start + report + end + "\n<!-- results -->\n", 1)
        results.write_text(text)
    if any(r["server_errors"] or r["socket_errors"] for r in runs.values()):
        raise SystemExit("5xx answers or socket errors under the mixed load")


if __name__ == "__main__":
    main()
