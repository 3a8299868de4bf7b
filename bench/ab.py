#!/usr/bin/env python3
"""Two builds of casebridge side by side: `GET /v1/cases/{id}`, and the keyword search.

For a change whose cost is a few percent, two separate runs of bench/run.py on this shared
machine differ more than the change does. This script seeds one database per build (the same
data set: `casebridge seed` is deterministic), starts both servers and the plaintext ceiling,
and measures them in alternation, ROUNDS times, so that the machine's load falls on both
alike. Prints each round and the medians, with each build's share of the ceiling; and for each
build its seed time and the size of its keyword index.

Endpoints (`--endpoints`, comma-separated): `get` (`GET /v1/cases/{id}`), `list` (`GET
/v1/cases`, the first page of 10 of a reseller's cases, 64 connections), `search` (`GET
/v1/cases?q=calendar`, pages of 10, 64 connections), `search1` (the same, 1 connection: a
search's own latency, without the queue 64 connections build on two cores) and `create`
(`POST /v1/customers/{id}/cases`, 64 connections: filing, with its event, mail and webhook
look-up).

On PostgreSQL, `--copy-seed` seeds once, with the build before, and gives each build a copy
of that database (`CREATE DATABASE ... TEMPLATE`): a million cases seed in ten to twenty
minutes here, a copy in one or two. The build after migrates its copy when it starts, so it may
add migrations, but it must open what the build before wrote. `--keep-seed` keeps the seeded
database afterwards (for `EXPLAIN`) and says its name; `--seeded NAME` copies one kept so
instead of seeding again (no session may be open on it: a template must be idle). `--after-sql`
runs statements on the database of the build after before it starts: a setting measured
without a build of its own (the same binary may then be given as both builds).

Usage: bench/ab.py --before BIN --after BIN [--backend postgres|sqlite] [--endpoints get,...]
       [--cases N] [--rounds R] [--duration S] [--pg-url URL] [--ceiling BIN]
       [--copy-seed] [--keep-seed] [--seeded NAME] [--after-sql SQL]
"""

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from run import (CEILING, CUSTOMERS, KEYWORD, PAGE, PASSWORD, RESELLERS, WRK_LUA,  # noqa: E402
                 free_port, http, log, wait_ready, wrk)

ENDPOINTS = {
    "get": ("GET /v1/cases/{id}", 64),
    "list": (f"GET /v1/cases?page_size={PAGE}", 64),
    "search": (f"GET /v1/cases?q={KEYWORD}", 64),
    "search1": (f"GET /v1/cases?q={KEYWORD}, 1 connection", 1),
    "create": ("POST /v1/customers/{id}/cases", 64),
}


def index_size(backend, data, scratch_url):
    """Bytes of the keyword index (and, on SQLite, of the whole database file)."""
    if backend == "postgres":
        out = subprocess.run(["psql", scratch_url, "-Atc",
                              "SELECT pg_total_relation_size('case_search'), "
                              "pg_database_size(current_database())"],
                             check=True, capture_output=True, text=True).stdout.strip()
        index, whole = (int(x) for x in out.split("|"))
        return index, whole
    files = [f for f in data.rglob("*") if f.is_file() and f.suffix in (".db", ".sqlite", ".sqlite3")]
    db = max(files, key=lambda f: f.stat().st_size)
    out = subprocess.run(["sqlite3", str(db),
                          "SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'case_search%'"],
                         check=True, capture_output=True, text=True).stdout.strip()
    return int(out or 0), sum(f.stat().st_size for f in db.parent.glob(db.name + "*"))


def start(binary, name, cases, pg_url, backend, template=None, sql=None):
    data = pathlib.Path(tempfile.mkdtemp(prefix=f"casebridge-ab-{name}-"))
    env = {**os.environ, "CASEBRIDGE_DATA_DIR": str(data), "RUST_LOG": "warn"}
    env.pop("CASEBRIDGE_DATABASE_URL", None)
    scratch = scratch_url = None
    if backend == "postgres":
        scratch = f"bench_ab_{name}_{int(time.time())}"
        copy = f' TEMPLATE "{template}"' if template else ""
        subprocess.run(["psql", pg_url, "-qc", f'CREATE DATABASE "{scratch}"{copy}'], check=True)
        scratch_url = pg_url.rsplit("/", 1)[0] + "/" + scratch
        env["CASEBRIDGE_DATABASE_URL"] = scratch_url
    started = time.monotonic()
    if not template:
        subprocess.run([binary, "seed", "--cases", str(cases), "--resellers", str(RESELLERS),
                        "--customers", str(CUSTOMERS), "--comments-per-case", "3",
                        "--password", PASSWORD], env=env, check=True, capture_output=True)
    seed_seconds = time.monotonic() - started
    if sql:
        subprocess.run(["psql", scratch_url, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True)
    index_bytes, db_bytes = index_size(backend, data, scratch_url)
    log(f"{name}: seeded in {seed_seconds:.0f} s; keyword index {index_bytes / 2**20:,.0f} MiB, "
        f"database {db_bytes / 2**20:,.0f} MiB")
    port = free_port()
    proc = subprocess.Popen([binary, "serve"], env={**env, "CASEBRIDGE_BIND": f"127.0.0.1:{port}"})
    # The database is the server's from here on: a copy must not be taken while it runs.
    base = f"http://127.0.0.1:{port}"
    wait_ready(f"{base}/readyz", proc)
    token = http("POST", f"{base}/v1/auth/token", body={
        "domain": "reseller-000.seed.example",
        "email": "admin@reseller-000.seed.example", "password": PASSWORD})["access_token"]
    case = http("GET", f"{base}/v1/cases?page_size=1", token)["cases"][0]["id"]
    search = f"{base}/v1/cases?q={KEYWORD}&page_size={PAGE}"
    found = http("GET", search, token)["total_size"]
    log(f"{name}: '{KEYWORD}' finds {found:,} for reseller-000")
    customer = http("GET", f"{base}/v1/customers?page_size=1", token)["customers"][0]["id"]
    category = next(c for c in http("GET", f"{base}/v1/case-classifications?page_size=100",
                                    token)["case_classifications"]
                    if c["product_type"] == "google_workspace")
    # The filings never hold the searched keyword: rounds alternate endpoints, and a search
    # measured after filings that matched it would count each of them (tens of thousands more
    # matches a round), a different search from the one measured before them.
    create_body = json.dumps({
        "product_type": "google_workspace", "title": "Drive sync fails on phones",
        "classification_id": category["id"],
        "answers": {q["id"]: "Since Monday" for q in category["questions"] if q["required"]},
        "description": "Since Monday, shared drives do not sync on managed phones.",
        "severity": "P3", "language_code": "en-US", "time_zone": "Europe/Berlin"})
    return {"proc": proc, "data": data, "scratch": scratch, "token": token, "found": found,
            "urls": {"get": f"{base}/v1/cases/{case}", "list": f"{base}/v1/cases?page_size={PAGE}",
                     "search": search, "search1": search,
                     "create": f"{base}/v1/customers/{customer}/cases"},
            "requests": {"create": ("POST", create_body)},
            "seed_seconds": seed_seconds, "index_bytes": index_bytes, "db_bytes": db_bytes}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--before", required=True)
    p.add_argument("--after", required=True)
    p.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    p.add_argument("--endpoints", default="get")
    p.add_argument("--cases", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--ceiling", default=str(CEILING))
    p.add_argument("--copy-seed", action="store_true")
    p.add_argument("--after-sql")
    p.add_argument("--keep-seed", action="store_true")
    p.add_argument("--seeded")
    p.add_argument("--pg-url", default=os.environ.get(
        "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    args = p.parse_args()
    if (args.copy_seed or args.seeded or args.after_sql) and args.backend != "postgres":
        raise SystemExit("--copy-seed, --seeded and --after-sql are for PostgreSQL")
    endpoints = args.endpoints.split(",")
    for e in endpoints:
        if e not in ENDPOINTS:
            raise SystemExit(f"unknown endpoint {e}: one of {', '.join(ENDPOINTS)}")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_LUA)
        lua = f.name
    servers = {}
    cport = free_port()
    ceiling = subprocess.Popen([args.ceiling, f"127.0.0.1:{cport}"])
    try:
        wait_ready(f"http://127.0.0.1:{cport}/plaintext", ceiling)
        template = args.seeded
        if args.copy_seed and not template:
            # Seeded by the build before and never served: a template must have no sessions.
            template = f"bench_ab_seed_{int(time.time())}"
            subprocess.run(["psql", args.pg_url, "-qc", f'CREATE DATABASE "{template}"'],
                           check=True)
            seed_data = tempfile.mkdtemp(prefix="casebridge-ab-seed-")
            seed_env = {**os.environ, "RUST_LOG": "warn", "CASEBRIDGE_DATA_DIR": seed_data,
                        "CASEBRIDGE_DATABASE_URL": args.pg_url.rsplit("/", 1)[0] + "/" + template}
            log(f"seeding {args.cases:,} cases once, for both builds")
            started = time.monotonic()
            subprocess.run([args.before, "seed", "--cases", str(args.cases), "--resellers",
                            str(RESELLERS), "--customers", str(CUSTOMERS),
                            "--comments-per-case", "3", "--password", PASSWORD],
                           env=seed_env, check=True, capture_output=True)
            shutil.rmtree(seed_data, ignore_errors=True)
            log(f"seeded in {time.monotonic() - started:.0f} s")
        for name in ("before", "after"):
            log(f"{name}: {'copying' if template else 'seeding'} {args.cases:,} cases "
                f"({args.backend})")
            servers[name] = start(getattr(args, name), name, args.cases, args.pg_url,
                                  args.backend, template,
                                  args.after_sql if name == "after" else None)
        # figures[endpoint][build] = [wrk result per round]
        figures = {e: {"before": [], "after": []} for e in endpoints}
        ceiling_rps = []
        for r in range(args.rounds):
            url = f"http://127.0.0.1:{cport}/plaintext"
            wrk(url, "GET", "", "", duration=2, lua=lua)
            ceiling_rps.append(wrk(url, "GET", "", "", duration=args.duration, lua=lua)["rps"])
            row = [f"ceiling {ceiling_rps[-1]:,.0f}"]
            for e in endpoints:
                connections = ENDPOINTS[e][1]
                for name in ("before", "after"):
                    s = servers[name]
                    method, body = s["requests"].get(e, ("GET", ""))
                    wrk(s["urls"][e], method, s["token"], body, duration=2, lua=lua,
                        connections=connections)
                    res = wrk(s["urls"][e], method, s["token"], body, duration=args.duration,
                              lua=lua, connections=connections)
                    if res["non2xx"] or res["socket_errors"]:
                        raise SystemExit(f"{e} {name}: {res['non2xx']} non-2xx answers, "
                                         f"{res['socket_errors']} socket errors")
                    figures[e][name].append(res)
                    row.append(f"{e} {name} {res['rps']:,.0f} (p95 {res['p95']:.1f} ms)")
            log(f"round {r + 1}: " + ", ".join(row))
        ceil = statistics.median(ceiling_rps)
        med = statistics.median
        print(f"{args.backend}, {args.cases:,} cases, {args.rounds} rounds of {args.duration} s, "
              f"plaintext ceiling {ceil:,.0f} req/s (each round: "
              + ", ".join(f"{x:,.0f}" for x in ceiling_rps) + ")")
        print()
        print("| endpoint | build | req/s, median | each round | p50 ms | p95 ms | p99 ms "
              "| share of the ceiling |")
        print("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |")
        for e in endpoints:
            for name in ("before", "after"):
                rs = figures[e][name]
                m = med([x["rps"] for x in rs])
                print(f"| {ENDPOINTS[e][0]} | {name} | {m:,.0f} | "
                      + ", ".join(f"{x['rps']:,.0f}" for x in rs)
                      + f" | {med([x['p50'] for x in rs]):.2f} | {med([x['p95'] for x in rs]):.2f}"
                      f" | {med([x['p99'] for x in rs]):.2f} | {100 * m / ceil:.2f}% |")
        print()
        print("| build | seed (or copy) time | keyword index | database | "
              f"'{KEYWORD}' finds (reseller-000) |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name in ("before", "after"):
            s = servers[name]
            print(f"| {name} | {s['seed_seconds']:.0f} s | {s['index_bytes'] / 2**20:,.1f} MiB | "
                  f"{s['db_bytes'] / 2**20:,.1f} MiB | {s['found']:,} |")
    finally:
        ceiling.terminate()
        ceiling.wait()
        for s in servers.values():
            s["proc"].terminate()
            s["proc"].wait()
            shutil.rmtree(s["data"], ignore_errors=True)
            if s["scratch"]:
                subprocess.run(["psql", args.pg_url, "-qc",
                                f'DROP DATABASE IF EXISTS "{s["scratch"]}" WITH (FORCE)'])
        if template and (args.keep_seed or args.seeded):
            log(f"kept the seeded database {template}")
        elif template:
            subprocess.run(["psql", args.pg_url, "-qc",
                            f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'])
        os.unlink(lua)


if __name__ == "__main__":
    main()
