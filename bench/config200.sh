#!/usr/bin/env bash
# Benchmark: 200 variables + 20 secrets on one project, applied with
# -parallelism=50. Checks that all land and the app restarted once for the
# change, then times a refresh-only plan over them against the same number
# of terraform_data resources and prints the ratio (target <= 1.3x).
#
# Usage: make build standin && bench/config200.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'kill $agent_pid 2>/dev/null || true; rm -rf "$work"' EXIT
image=runtime-standin/python:3.12-slim
repo="$work/repo"; mkdir -p "$repo"; echo '# bench' > "$repo/app.py"
git -C "$repo" init -q -b main && git -C "$repo" -c user.name=b -c user.email=b@b add -A && git -C "$repo" -c user.name=b -c user.email=b@b commit -qm bench

printf 'allow_local_repos = true\nenvironments = { "python-3.12" = "%s" }\nlog_level = "warn"\n' "$image" > "$work/agent.hcl"
RUNTIME_AGENT_TOKEN=benchtoken "$root/bin/runtime-agent" serve --listen 127.0.0.1:17789 --apps-listen 127.0.0.1:18081 \
  --data-dir "$work/agent" --config "$work/agent.hcl" \
  >"$work/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 100); do curl -fsS http://127.0.0.1:17789/healthz >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS http://127.0.0.1:17789/healthz >/dev/null || { cat "$work/agent.log"; exit 1; }
cat > "$work/tfrc" <<RC
provider_installation {
  dev_overrides { "registry.terraform.io/runtimeops/runtime" = "$root/bin" }
  direct {}
}
RC
mkdir -p "$work/tf" "$work/floor"
cp "$root/bench/config200/main.tf" "$work/tf/"; cp "$root/bench/config200-floor/main.tf" "$work/floor/"
export TF_CLI_CONFIG_FILE="$work/tfrc" RUNTIME_ENDPOINT=http://127.0.0.1:17789 RUNTIME_TOKEN=benchtoken
run=$(date +%s)
tfv() { terraform -chdir="$work/tf" "$@" -var "git_url=$repo" -var "run=$run"; }
tfv apply -auto-approve -parallelism=50 -var value=one >/dev/null
slug="config-bench-$run"
sleep 4 # the first apply's own restart (after the agent's quiet period)
t0=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
start=$(date +%s.%N)
tfv apply -auto-approve -parallelism=50 -var value=two >/dev/null
apply=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')
sleep 4
starts=$(docker events --since "$t0" --until "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" --filter type=container --filter event=start \
  --filter "label=io.runtimeops.project=$slug" --format '{{.ID}}' | wc -l)
landed=$(curl -fsS -H "Authorization: Bearer benchtoken" "http://127.0.0.1:17789/v1/projects/$slug/variables" | grep -o '"value":"two-' | wc -l)

terraform -chdir="$work/floor" apply -auto-approve >/dev/null
t() { local s; s=$(date +%s.%N); "$@" >/dev/null; awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN{print b-a}'; }
ours=$(t tfv plan -refresh-only -parallelism=50 -var value=two)
floor=$(t terraform -chdir="$work/floor" plan -refresh-only -parallelism=50)
norefresh=$(t tfv plan -refresh=false -parallelism=50 -var value=two)
tfv destroy -auto-approve -parallelism=50 -var value=two >/dev/null

echo "changed 200 variables + 20 secrets in ${apply}s: $landed/200 variables landed; app restarted $starts time(s) (want 1)"
printf 'plan without refresh (terraform + plugin, no agent reads): %.2fs\n' "$norefresh"
printf 'refresh-only plan: runtime %.2fs, terraform_data %.2fs, ratio %.2fx (target <= 1.3x)\n' "$ours" "$floor" "$(awk -v a="$ours" -v b="$floor" 'BEGIN{print a/b}')"
