#!/usr/bin/env bash
# Builds the local stand-in images from test/standin:
#   runtime-standin/python:3.12-slim      (python:3.12-slim + streamlit,
#                                          gunicorn, airflow; Dockerfile)
#   runtime-standin/open-webui:v0.6.5     (ghcr.io/open-webui/open-webui;
#                                          Dockerfile.open-webui)
#
# There is no image registry on these machines, so the agent's tests and the
# offline demo run these instead (see the Dockerfiles). Both hold the same
# static binary. The script is idempotent and quick when nothing changed:
# each image carries the label io.runtimeops.standin.hash, a hash of the
# sources, and its build is skipped when it matches. FORCE=1 rebuilds.
# STANDIN_IMAGE and STANDIN_OPENWEBUI_IMAGE override the names. Works from
# any directory.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

python_image=${STANDIN_IMAGE:-runtime-standin/python:3.12-slim}
webui_image=${STANDIN_OPENWEBUI_IMAGE:-runtime-standin/open-webui:v0.6.5}
label=io.runtimeops.standin.hash

# Serialise concurrent runs (go test runs packages in parallel).
if command -v flock >/dev/null 2>&1; then
	exec 9>"${TMPDIR:-/tmp}/runtime-standin-image.lock"
	flock 9
fi

sources=$(ls test/standin/*.go | grep -v '_test\.go$' | LC_ALL=C sort)
hash=$(
	{
		for f in $sources test/standin/Dockerfile test/standin/Dockerfile.open-webui scripts/standin-image.sh; do
			printf '%s\n' "$f"
			cat "$f"
		done
		go env GOVERSION
	} | sha256sum | cut -d' ' -f1
)

# image:dockerfile:names linked to the binary in /usr/local/bin.
images=(
	"$python_image|Dockerfile|streamlit gunicorn airflow pip pip3 python python3"
	"$webui_image|Dockerfile.open-webui|open-webui pip pip3 python python3"
)

stale=()
for spec in "${images[@]}"; do
	image=${spec%%|*}
	current=$(docker image inspect -f "{{ index .Config.Labels \"$label\" }}" "$image" 2>/dev/null || true)
	if [[ "$current" == "$hash" && "${FORCE:-0}" != 1 ]]; then
		echo "standin-image: $image is up to date (${hash:0:12})"
	else
		stale+=("$spec")
	fi
done
[[ ${#stale[@]} -eq 0 ]] && exit 0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

arch=$(docker version -f '{{.Server.Arch}}')
start=$(date +%s%N)
CGO_ENABLED=0 GOOS=linux GOARCH="$arch" \
	go build -trimpath -ldflags='-s -w' -o "$work/standin" ./test/standin

for spec in "${stale[@]}"; do
	IFS='|' read -r image dockerfile names <<<"$spec"
	ctx="$work/ctx-${dockerfile}"
	mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/tmp" "$ctx/rootfs/root"
	chmod 1777 "$ctx/rootfs/tmp"
	chmod 0700 "$ctx/rootfs/root"
	if [[ "$dockerfile" == Dockerfile.open-webui ]]; then
		mkdir -p "$ctx/rootfs/app/backend/data"
	fi
	cp "$work/standin" "$ctx/rootfs/usr/local/bin/standin"
	for name in $names; do
		ln -s standin "$ctx/rootfs/usr/local/bin/$name"
	done
	cp "test/standin/$dockerfile" "$ctx/Dockerfile"

	old_id=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
	# The engine has no BuildKit: use the classic builder explicitly.
	if ! out=$(DOCKER_BUILDKIT=0 docker build --quiet --label "$label=$hash" -t "$image" "$ctx" 2>&1); then
		echo "$out" >&2
		echo "standin-image: docker build of $image failed" >&2
		exit 1
	fi
	# Drop the image this one replaced, unless something still uses it.
	new_id=$(docker image inspect -f '{{.Id}}' "$image")
	if [[ -n "$old_id" && "$old_id" != "$new_id" ]]; then
		docker image rm "$old_id" >/dev/null 2>&1 || true
	fi
	end=$(date +%s%N)
	size=$(docker image inspect -f '{{.Size}}' "$image")
	echo "standin-image: built $image (${hash:0:12}, $size bytes) in $(((end - start) / 1000000))ms"
done
