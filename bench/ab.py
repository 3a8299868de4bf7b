#!/usr/bin/env python3
"""Two builds of casebridge side by side on one endpoint: `GET /v1/cases/{id}` on PostgreSQL.

For a change whose cost is a few percent, two separate runs of bench/run.py on this shared
machine differ more than the change does. This script seeds one database per build (the same
data set: `casebridge seed` is deterministic), starts both servers and the plaintext ceiling,
and measures them in alternation, ROUNDS times, so that the machine's load falls on both
alike. Prints each round and the medians, with each build's share of the ceiling.

Usage: bench/ab.py --before BIN --after BIN [--cases N] [--rounds R] [--duration S]
       [--pg-url URL]
"""

import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from run import (CEILING, CUSTOMERS, PASSWORD, RESELLERS, WRK_LUA, free_port, http,  # noqa: E402
                 log, wait_ready, wrk)


def start(binary, name, cases, pg_url):
    data = pathlib.Path(tempfile.mkdtemp(prefix=f"casebridge-ab-{name}-"))
    scratch = f"bench_ab_{name}_{int(time.time())}"
    subprocess.run(["psql", pg_url, "-qc", f'CREATE DATABASE "{scratch}"'], check=True)
    env = {**os.environ, "CASEBRIDGE_DATA_DIR": str(data), "RUST_LOG": "warn",
           "CASEBRIDGE_DATABASE_URL": pg_url.rsplit("/", 1)[0] + "/" + scratch}
    subprocess.run([binary, "seed", "--cases", str(cases), "--resellers", str(RESELLERS),
                    "--customers", str(CUSTOMERS), "--comments-per-case", "3",
                    "--password", PASSWORD], env=env, check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen([binary, "serve"], env={**env, "CASEBRIDGE_BIND": f"127.0.0.1:{port}"})
    base = f"http://127.0.0.1:{port}"
    wait_ready(f"{base}/readyz", proc)
    token = http("POST", f"{base}/v1/auth/token", body={
        "domain": "reseller-000.seed.example",
        "email": "admin@reseller-000.seed.example", "password": PASSWORD})["access_token"]
    case = http("GET", f"{base}/v1/cases?page_size=1", token)["cases"][0]["id"]
    return {"proc": proc, "data": data, "scratch": scratch, "url": f"{base}/v1/cases/{case}",
            "token": token}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--before", required=True)
    p.add_argument("--after", required=True)
    p.add_argument("--cases", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--pg-url", default=os.environ.get(
        "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    args = p.parse_args()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_LUA)
        lua = f.name
    servers = {}
    cport = free_port()
    ceiling = subprocess.Popen([str(CEILING), f"127.0.0.1:{cport}"])
    try:
        wait_ready(f"http://127.0.0.1:{cport}/plaintext", ceiling)
        for name in ("before", "after"):
            log(f"{name}: seeding {args.cases:,} cases")
            servers[name] = start(getattr(args, name), name, args.cases, args.pg_url)
        figures = {"ceiling": [], "before": [], "after": []}
        for r in range(args.rounds):
            row = []
            for name in ("ceiling", "before", "after"):
                if name == "ceiling":
                    url, token = f"http://127.0.0.1:{cport}/plaintext", ""
                else:
                    url, token = servers[name]["url"], servers[name]["token"]
                wrk(url, "GET", token, "", duration=2, lua=lua)
                rps = wrk(url, "GET", token, "", duration=args.duration, lua=lua)["rps"]
                figures[name].append(rps)
                row.append(f"{name} {rps:,.0f}")
            log(f"round {r + 1}: " + ", ".join(row) + " req/s")
        ceil = statistics.median(figures["ceiling"])
        print("| build | GET /v1/cases/{id} req/s, median of %d | each round | share of the ceiling |"
              % args.rounds)
        print("| --- | ---: | --- | ---: |")
        print(f"| plaintext ceiling | {ceil:,.0f} | "
              + ", ".join(f"{x:,.0f}" for x in figures["ceiling"]) + " | 100% |")
        for name in ("before", "after"):
            m = statistics.median(figures[name])
            print(f"| {name} | {m:,.0f} | " + ", ".join(f"{x:,.0f}" for x in figures[name])
                  + f" | {100 * m / ceil:.1f}% |")
    finally:
        ceiling.terminate()
        ceiling.wait()
        for s in servers.values():
            s["proc"].terminate()
            s["proc"].wait()
            shutil.rmtree(s["data"], ignore_errors=True)
            subprocess.run(["psql", args.pg_url, "-qc",
                            f'DROP DATABASE IF EXISTS "{s["scratch"]}" WITH (FORCE)'])
        os.unlink(lua)


if __name__ == "__main__":
    main()
