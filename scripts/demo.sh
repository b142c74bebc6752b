#!/usr/bin/env bash
# make demo: start a local runtime-agent, create a demo git repository and
# apply examples/quickstart against them with the freshly built provider.
# `scripts/demo.sh stop` (make demo-stop) destroys the demo app and stops
# the agent.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
demo="$root/.demo"
mkdir -p "$demo"

api_addr=127.0.0.1:7788
apps_addr=127.0.0.1:8080

tf_env() {
  export TF_CLI_CONFIG_FILE="$demo/terraformrc"
  export RUNTIME_ENDPOINT="http://$api_addr"
  export RUNTIME_TOKEN="$(cat "$demo/token")"
  export TF_IN_AUTOMATION=1
}

agent_up() {
  [ -f "$demo/agent.pid" ] && kill -0 "$(cat "$demo/agent.pid")" 2>/dev/null &&
    curl -fsS "http://$api_addr/healthz" >/dev/null 2>&1
}

stop() {
  local did=""
  if agent_up; then
    tf_env
    terraform -chdir="$demo/stack" destroy -auto-approve -input=false >/dev/null && echo "demo: app destroyed" && did=1
  fi
  # An agent started by hand with the demo's config, or one whose pid file is stale.
  for pid in $(pgrep -f "runtime-agent serve --config $demo/agent.hcl" || true); do
    kill "$pid" && echo "demo: agent stopped (pid $pid)" && did=1
  done
  # Containers left by an agent that died (kill -9) before it could clean up.
  if [ -f "$demo/agent/agent-id" ]; then
    left=$(docker ps -aq --filter "label=io.runtimeops.agent=$(cat "$demo/agent/agent-id")")
    if [ -n "$left" ]; then
      docker rm -f $left >/dev/null && echo "demo: removed $(echo "$left" | wc -w) app container(s) left by a stopped agent" && did=1
    fi
  fi
  rm -f "$demo/agent.pid"
  [ -n "$did" ] || echo "demo: nothing to stop"
  echo "demo: its files (store, keys, token, demo repository) stay in $demo; delete that folder to start afresh"
}

if [ "${1:-}" = stop ]; then
  stop
  exit 0
fi

# The environment image. A real host pulls python:3.12-slim and installs
# streamlit from requirements.txt; this machine has no registry, so when
# that image is missing the demo uses the local stand-in (scripts/standin-image.sh),
# which answers like streamlit does.
image=python:3.12-slim
if ! docker image inspect "$image" >/dev/null 2>&1; then
  image=runtime-standin/python:3.12-slim
  echo "demo: $image stands in for python:3.12-slim (no image registry reachable here)"
fi

[ -f "$demo/token" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$demo/token"
chmod 600 "$demo/token"
cat > "$demo/agent.hcl" <<HCL
listen            = "$api_addr"
apps_listen       = "$apps_addr"
apps_domain       = "localhost"
data_dir          = "$demo/agent"
token_file        = "$demo/token"
# The demo repository is a local path; real projects use git over SSH.
allow_local_repos = true
environments = {
  "python-3.12" = "$image"
}
HCL

# A demo repository with a one-file Streamlit app.
repo="$demo/sales-dashboard"
if [ ! -d "$repo/.git" ]; then
  mkdir -p "$repo/src"
  cat > "$repo/src/app.py" <<'PY'
import streamlit as st

st.title("Sales dashboard")
st.write("Deployed by runtime-agent from git.")
PY
  echo "streamlit" > "$repo/requirements.txt"
  git -C "$repo" init -q -b main
  git -C "$repo" -c user.name=demo -c user.email=demo@example.com add -A
  git -C "$repo" -c user.name=demo -c user.email=demo@example.com commit -qm "Sales dashboard"
fi

# Running `make demo` again keeps what the demo holds (projects, variables,
# secrets): a running agent is reused, and the apply below changes only what
# the configuration says.
if agent_up; then
  echo "demo: reusing the running agent (pid $(cat "$demo/agent.pid"))"
else
  nohup "$root/bin/runtime-agent" serve --config "$demo/agent.hcl" >>"$demo/agent.log" 2>&1 &
  echo $! > "$demo/agent.pid"
  for _ in $(seq 50); do
    curl -fsS "http://$api_addr/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fsS "http://$api_addr/healthz" >/dev/null || { echo "demo: the agent did not start; see $demo/agent.log" >&2; tail -20 "$demo/agent.log" >&2; exit 1; }
fi
echo "demo: runtime-agent is up at http://$api_addr (log: $demo/agent.log)"

cat > "$demo/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "registry.terraform.io/runtimeops/runtime" = "$root/bin"
  }
  direct {}
}
RC
mkdir -p "$demo/stack"
[ -f "$demo/stack/main.tf" ] || cp "$root/examples/quickstart/"*.tf "$demo/stack/"
tf_env
# Terraform warns that a development build of the provider is in use: expected here.
terraform -chdir="$demo/stack" apply -auto-approve -input=false -var "git_url=$repo" -var "path=src/app.py"
url="$(terraform -chdir="$demo/stack" output -raw url)"
echo
if curl -fsS "$url" >/dev/null; then
  echo "demo: the app answers at $url"
else
  echo "demo: the app did not answer at $url; see $demo/agent.log" >&2
  exit 1
fi
echo "demo: open $url in a browser (names under .localhost resolve to this machine)"
echo "demo: inspect with: RUNTIME_AGENT_TOKEN_FILE=$demo/token bin/runtime-agent projects"
echo "demo: drive it with terraform:"
echo "        export TF_CLI_CONFIG_FILE=$demo/terraformrc RUNTIME_ENDPOINT=http://$api_addr RUNTIME_TOKEN=\$(cat $demo/token)"
echo "        terraform -chdir=$demo/stack plan -var git_url=$repo -var path=src/app.py"
echo "      (the provider comes from bin/ through that file's dev_overrides: skip terraform init, which"
echo "       would look for it in the registry; your own directories work the same way)"
echo "demo: see what the app was given (the stand-in shows its environment and files):"
echo "        curl -s ${url%/}/_standin/info; curl -s '${url%/}/_standin/file?path=/run/secrets/<KEY>'"
echo "demo: stop with:    make demo-stop"
