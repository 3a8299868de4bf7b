#!/usr/bin/env bash
# The contract, proven with tools we did not write:
#   1. `redocly lint` on openapi.yaml (npm);
#   2. schemathesis (PyPI) against the real server on a fresh database, every check on;
#   3. a Python client generated from openapi.yaml by openapi-python-client (PyPI), driving a
#      partner's scenario (contract/scenario.py).
# Installs what it needs under target/test-tools. Usage:
#   contract/run.sh [DATABASE_URL]     (default: a fresh SQLite file)
# A PostgreSQL URL names a server; a fresh database is created on it and dropped afterwards.
# CONTRACT_MAX_EXAMPLES bounds schemathesis' examples per operation (default 30).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
tools="$root/target/test-tools"
venv="$tools/venv"
bin="${CASEBRIDGE_BIN:-$root/target/debug/casebridge}"
examples="${CONTRACT_MAX_EXAMPLES:-30}"
database_url="${1:-}"

step() { printf '\n--- contract: %s ---\n' "$*"; }

step "tools"
if ! "$venv/bin/python" -c 'import schemathesis, openapi_python_client, httpx' 2>/dev/null; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet 'schemathesis==4.32.5' 'openapi-python-client==0.29.1' 'httpx==0.28.1'
fi
if [ ! -x "$tools/node/node_modules/.bin/redocly" ]; then
  mkdir -p "$tools/node"
  [ -f "$tools/node/package.json" ] || echo '{"private": true}' > "$tools/node/package.json"
  npm install --prefix "$tools/node" --no-audit --no-fund --silent '@redocly/cli@2.77.0'
fi
[ -x "$bin" ] || cargo build --bin casebridge

step "redocly lint"
"$tools/node/node_modules/.bin/redocly" lint openapi.yaml --format=summary

work="$(mktemp -d "${TMPDIR:-/tmp}/casebridge-contract.XXXXXX")"
server_pid=""
scratch_db=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  if [ -n "$scratch_db" ]; then
    psql "$database_url" -qc "DROP DATABASE IF EXISTS \"$scratch_db\" WITH (FORCE)" >/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

export CASEBRIDGE_DATA_DIR="$work/data"
if [ -n "$database_url" ]; then
  scratch_db="contract_$(date +%s)_$$"
  psql "$database_url" -qc "CREATE DATABASE \"$scratch_db\"" >/dev/null
  export CASEBRIDGE_DATABASE_URL="${database_url%/*}/$scratch_db"
  backend="PostgreSQL"
else
  unset CASEBRIDGE_DATABASE_URL
  backend="SQLite"
fi
port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export CASEBRIDGE_BIND="127.0.0.1:$port" RUST_LOG="${RUST_LOG:-warn}"
url="http://127.0.0.1:$port"

step "server on $backend at $url"
provider_password="contract provider pass phrase"
"$bin" bootstrap --domain support.provider.test --email admin@support.provider.test \
  --password "$provider_password" >/dev/null
"$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "$url/readyz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.1
done

step "world"
"$venv/bin/python" contract/world.py "$url" "$work" support.provider.test \
  admin@support.provider.test "$provider_password"

# The scenario first, while the world is as built; fuzzing changes it at random.
step "generated client"
"$venv/bin/openapi-python-client" generate --path openapi.yaml \
  --config contract/openapi-python-client.yaml --output-path "$work/casebridge_client" --meta none \
  > "$work/generate.log" 2>&1 || { cat "$work/generate.log"; exit 1; }
# A warning means some operation or model is missing from the client: that is a failure.
if grep -qi "warning" "$work/generate.log"; then cat "$work/generate.log"; exit 1; fi
PYTHONPATH="$work" "$venv/bin/python" contract/scenario.py "$url" "$work/world.json"

step "schemathesis ($examples examples per operation)"
cp contract/schemathesis.toml "$work/schemathesis.toml"
status=0
(
  cd "$work"
  CASEBRIDGE_CONTRACT_URL="$url" CASEBRIDGE_CONTRACT_WORLD="$work/world.json" \
  PYTHONPATH="$root/contract" \
    "$venv/bin/schemathesis" --config-file "$work/schemathesis.toml" run "$root/openapi.yaml" \
      --url "$url" --checks all --max-examples "$examples" --seed 20261121 --no-color
) || status=$?
if [ "$status" -ne 0 ]; then
  echo "schemathesis failed; the server's log follows" >&2
  tail -n 50 "$work/server.log" >&2
  exit "$status"
fi


step "passed on $backend"
