#!/usr/bin/env bash
# Benchmark: deploy and destroy 20 Streamlit projects through terraform
# (-parallelism=10), and the same work by hand (git clone + docker run +
# health wait, 10 at a time) as the floor. Prints both and the ratio; the
# target is <= 1.25x. Also prints the agent's resident memory when idle and
# while holding the 20 projects.
#
# Usage: make build standin && bench/deploy20.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'kill $agent_pid 2>/dev/null || true; docker rm -f $(docker ps -aq --filter label=bench-floor=1) >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
image=runtime-standin/python:3.12-slim
docker image inspect "$image" >/dev/null

# One local repository shared by every project (no git host needed).
repo="$work/repo"
mkdir -p "$repo"
echo 'print("bench")' > "$repo/app.py"
git -C "$repo" init -q -b main
git -C "$repo" -c user.name=b -c user.email=b@b add -A
git -C "$repo" -c user.name=b -c user.email=b@b commit -qm bench

rss() { awk '/VmRSS/ {print $2 " KiB"}' "/proc/$1/status"; }

# --- floor: the same clones, container runs and health waits by hand
docker network inspect runtime-apps >/dev/null 2>&1 || docker network create runtime-apps >/dev/null
floor_one() {
  local i=$1 dir="$work/floor/$1"
  git clone -q --single-branch --branch main "$repo" "$dir"
  local id
  id=$(docker run -d --label bench-floor=1 --network runtime-apps --init --restart unless-stopped \
    -v "$dir:/app:ro" -w /app "$image" streamlit run /app/app.py --server.port=8501 --server.address=0.0.0.0 --server.headless=true)
  local ip
  ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$id")
  for _ in $(seq 300); do curl -fs -o /dev/null "http://$ip:8501/_stcore/health" && break; sleep 0.1; done
}
export -f floor_one; export work repo image
start=$(date +%s.%N)
seq 20 | xargs -P 10 -I{} bash -c 'floor_one {}'
floor_up=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')
docker rm -f $(docker ps -aq --filter label=bench-floor=1) >/dev/null
floor=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')

# --- terraform + agent
token=benchtoken
printf 'allow_local_repos = true\nenvironments = { "python-3.12" = "%s" }\nlog_level = "warn"\n' "$image" > "$work/agent.hcl"
RUNTIME_AGENT_TOKEN=$token "$root/bin/runtime-agent" serve --listen 127.0.0.1:17788 --apps-listen 127.0.0.1:18080 \
  --data-dir "$work/agent" --config "$work/agent.hcl" \
  >"$work/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 100); do curl -fsS http://127.0.0.1:17788/healthz >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS http://127.0.0.1:17788/healthz >/dev/null || { cat "$work/agent.log"; exit 1; }
sleep 1
idle=$(rss $agent_pid)
cat > "$work/tfrc" <<RC
provider_installation {
  dev_overrides { "registry.terraform.io/runtimeops/runtime" = "$root/bin" }
  direct {}
}
RC
cp "$root/bench/deploy20/main.tf" "$work/"
export TF_CLI_CONFIG_FILE="$work/tfrc" RUNTIME_ENDPOINT=http://127.0.0.1:17788 RUNTIME_TOKEN=$token
run=$(date +%s)
start=$(date +%s.%N)
terraform -chdir="$work" apply -auto-approve -parallelism=10 -var "git_url=$repo" -var "run=$run" >/dev/null
applied=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')
loaded=$(rss $agent_pid)
terraform -chdir="$work" destroy -auto-approve -parallelism=10 -var "git_url=$repo" -var "run=$run" >/dev/null
tf=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')

# Memory while holding 200 projects (created, not deployed: what the agent
# itself keeps, not Docker's work).
for i in $(seq 200); do
  curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"name\":\"mem $run $i\",\"app_type\":\"streamlit\",\"environment\":\"python-3.12\",\"git_url\":\"$repo\",\"path\":\"app.py\"}" \
    http://127.0.0.1:17788/v1/projects
done
curl -fsS -o /dev/null -H "Authorization: Bearer $token" http://127.0.0.1:17788/v1/projects
held200=$(rss $agent_pid)

printf 'floor (git clone + docker run + health, by hand): %.1fs (up %.1fs)\n' "$floor" "$floor_up"
printf 'terraform apply + destroy through the agent:      %.1fs (apply %.1fs)\n' "$tf" "$applied"
awk -v t="$tf" -v f="$floor" 'BEGIN{printf "ratio: %.2fx (target <= 1.25x)\n", t/f}'
echo "agent RSS idle: $idle (target <= 25 MiB); with 20 apps deployed: $loaded; holding 200 projects: $held200 (target <= 60 MiB)"
