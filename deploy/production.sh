#!/usr/bin/env bash
# bulkgen's production shape on one machine: a gRPC code server, the Dagster daemon, the run
# workers and the HTTP API (plus the Dagster UI with --ui), all with the same environment.
#   deploy/production.sh [--env-file FILE] [--ui]     (default FILE: deploy/production.env)
# Copies deploy/dagster.yaml into $DAGSTER_HOME when it has none; Ctrl-C or SIGTERM stops all.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
env_file="$here/production.env"
args=()
while (($#)); do
  case "$1" in
    --env-file) env_file="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
[[ -f "$env_file" ]] || { echo "no environment file $env_file (start from deploy/production.env.example)" >&2; exit 1; }
set -a
# shellcheck disable=SC1090
source "$env_file"
set +a
: "${DAGSTER_HOME:?DAGSTER_HOME must be set in $env_file}"
mkdir -p "$DAGSTER_HOME" "${BULKGEN_HOME:-$DAGSTER_HOME}"
[[ -f "$DAGSTER_HOME/dagster.yaml" ]] || cp "$here/dagster.yaml" "$DAGSTER_HOME/dagster.yaml"
bulkgen="${BULKGEN_BIN:-$(command -v bulkgen || echo "$here/../.venv/bin/bulkgen")}"
exec "$bulkgen" serve "${args[@]}"
