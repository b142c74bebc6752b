#!/usr/bin/env bash
# Benchmark: 200 variables + 20 secrets on one project, applied with
# -parallelism=50. Checks that all land and the app restarted once for the
# change, then times refresh-only plans (median of $RUNS, default 15):
#
#   - the project, its deployment and the 220 children, and the same
#     project + deployment alone (a second project);
#   - 222 and 2 terraform_data resources (Terraform's built-in provider);
#   - 222 resources of bench/noopprovider, a plugin provider whose reads do
#     nothing.
#
# The target (<= 1.3x) is on what refreshing the 220 children costs: the
# plan with them minus the plan without them (median of each run's
# difference), against 220 terraform_data the same way. The whole plan's ratio is printed too; most of its gap is
# what any plugin provider pays (the no-op provider's ratio shows it).
#
# Usage: make build standin && bench/config200.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
runs="${RUNS:-15}"
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
(cd "$root" && go build -o "$work/noopbin/terraform-provider-noop" ./bench/noopprovider)
cat > "$work/tfrc" <<RC
provider_installation {
  dev_overrides {
    "registry.terraform.io/runtimeops/runtime" = "$root/bin"
    "registry.terraform.io/bench/noop"         = "$work/noopbin"
  }
  direct {}
}
RC
for d in tf base; do mkdir -p "$work/$d"; cp "$root/bench/config200/main.tf" "$work/$d/"; done
for d in builtin222 builtin2; do mkdir -p "$work/$d"; cp "$root/bench/config200-builtin/main.tf" "$work/$d/"; done
mkdir -p "$work/noop"; cp "$root/bench/config200-noop/main.tf" "$work/noop/"
export TF_CLI_CONFIG_FILE="$work/tfrc" RUNTIME_ENDPOINT=http://127.0.0.1:17789 RUNTIME_TOKEN=benchtoken
run=$(date +%s)
tfv() { terraform -chdir="$work/tf" "$@" -var "git_url=$repo" -var "run=$run"; }
base() { terraform -chdir="$work/base" "$@" -var "git_url=$repo" -var "run=$run-base" -var value=x -var variables=0 -var secrets=0; }
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

base apply -auto-approve >/dev/null
terraform -chdir="$work/builtin222" apply -auto-approve -parallelism=50 -var n=222 >/dev/null
terraform -chdir="$work/builtin2" apply -auto-approve -var n=2 >/dev/null
terraform -chdir="$work/noop" apply -auto-approve -parallelism=50 >/dev/null

t() { local s; s=$(date +%s.%N); "$@" >/dev/null; awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN{print b-a}'; }
median() { sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}'; }
for _ in $(seq "$runs"); do # interleaved, so a slow moment hits every kind alike
  o=$(t tfv plan -refresh-only -parallelism=50 -var value=two)
  b=$(t base plan -refresh-only -parallelism=50)
  f=$(t terraform -chdir="$work/builtin222" plan -refresh-only -parallelism=50 -var n=222)
  g=$(t terraform -chdir="$work/builtin2" plan -refresh-only -parallelism=50 -var n=2)
  t terraform -chdir="$work/noop" plan -refresh-only -parallelism=50 >>"$work/t.noop"
  echo "$o" >>"$work/t.ours"; echo "$b" >>"$work/t.base"; echo "$f" >>"$work/t.builtin222"; echo "$g" >>"$work/t.builtin2"
  # each run's own differences: what the children (or 220 terraform_data) added
  awk -v a="$o" -v b="$b" 'BEGIN{print a-b}' >>"$work/t.children"
  awk -v a="$f" -v b="$g" 'BEGIN{print a-b}' >>"$work/t.builtin"
done
ours=$(median <"$work/t.ours"); base_t=$(median <"$work/t.base")
b222=$(median <"$work/t.builtin222"); b2=$(median <"$work/t.builtin2"); noop=$(median <"$work/t.noop")
children=$(median <"$work/t.children"); builtin=$(median <"$work/t.builtin")
tfv destroy -auto-approve -parallelism=50 -var value=two >/dev/null
base destroy -auto-approve >/dev/null

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
echo "changed 200 variables + 20 secrets in ${apply}s: $landed/200 variables landed; app restarted $starts time(s) (want 1)"
echo "refresh-only plans, median of $runs:"
printf '  runtime: project + deployment + 220 children %.3fs; project + deployment alone %.3fs\n' "$ours" "$base_t"
printf '  terraform_data: 222 %.3fs; 2 %.3fs\n' "$b222" "$b2"
printf '  no-op plugin provider: 222 %.3fs\n' "$noop"
printf 'refreshing the 220 children: %.3fs against %.3fs for 220 terraform_data: %sx (target <= 1.3x)\n' \
  "$children" "$builtin" "$(ratio "$children" "$builtin")"
printf 'whole plan: %sx 222 terraform_data; %sx 222 no-op plugin resources\n' "$(ratio "$ours" "$b222")" "$(ratio "$ours" "$noop")"
