#!/usr/bin/env bash
# Times `casebridge import-legacy` of CASES cases (default 100,000, two comments each) on
# SQLite and on PostgreSQL, in release mode, and the idempotent second run on SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${CASES:-100000}"
pg="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
out=bench/out
mkdir -p "$out"
cargo build --release -q -p casebridge-api
bin=target/release/casebridge
python3 bench/gen_legacy.py "$cases" "$out/legacy.jsonl"
echo "export: $(wc -l < "$out/legacy.jsonl") records, $(du -h "$out/legacy.jsonl" | cut -f1)"

run() { # label, database url
  local data; data="$(mktemp -d)"
  local start end
  start=$(date +%s.%N)
  CASEBRIDGE_DATA_DIR="$data" CASEBRIDGE_DATABASE_URL="$2" RUST_LOG=warn \
    /usr/bin/time -f "%M" -o "$data/rss" "$bin" import-legacy "$out/legacy.jsonl" > "$data/report"
  end=$(date +%s.%N)
  printf '%-28s %6.1f s   peak %4d MB\n' "$1" "$(echo "$end - $start" | bc)" "$(( $(cat "$data/rss") / 1024 ))"
  if [ "${3:-}" = again ]; then
    start=$(date +%s.%N)
    CASEBRIDGE_DATA_DIR="$data" CASEBRIDGE_DATABASE_URL="$2" RUST_LOG=warn "$bin" import-legacy "$out/legacy.jsonl" > "$data/report2"
    end=$(date +%s.%N)
    printf '%-28s %6.1f s   (%s)\n' "$1, second run" "$(echo "$end - $start" | bc)" "$(tail -n 1 "$data/report2")"
  fi
  rm -rf "$data"
}

sqlite_dir="$(mktemp -d)"
run "SQLite" "sqlite://$sqlite_dir/casebridge.db?mode=rwc" again
rm -rf "$sqlite_dir"
db="bench_import_$$"
psql "$pg/postgres" -qc "CREATE DATABASE $db"
run "PostgreSQL" "$pg/$db"
psql "$pg/postgres" -qc "DROP DATABASE $db"
