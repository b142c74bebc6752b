#!/usr/bin/env bash
# Builds the local image runtime-standin/python:3.12-slim from test/standin.
#
# There is no image registry on these machines, so the agent's tests and the
# offline demo run this stand-in for python:3.12-slim + streamlit (see
# test/standin/Dockerfile). The script is idempotent and quick when nothing
# changed: the image carries the label io.runtimeops.standin.hash, a hash of
# the sources, and the build is skipped when it matches. FORCE=1 rebuilds.
# Works from any directory.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

image=${STANDIN_IMAGE:-runtime-standin/python:3.12-slim}
label=io.runtimeops.standin.hash

# Serialise concurrent runs (go test runs packages in parallel).
if command -v flock >/dev/null 2>&1; then
	exec 9>"${TMPDIR:-/tmp}/runtime-standin-image.lock"
	flock 9
fi

sources=$(ls test/standin/*.go | grep -v '_test\.go$' | LC_ALL=C sort)
hash=$(
	{
		for f in $sources test/standin/Dockerfile scripts/standin-image.sh; do
			printf '%s\n' "$f"
			cat "$f"
		done
		go env GOVERSION
	} | sha256sum | cut -d' ' -f1
)

old_id=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
current=$(docker image inspect -f "{{ index .Config.Labels \"$label\" }}" "$image" 2>/dev/null || true)
if [[ "$current" == "$hash" && "${FORCE:-0}" != 1 ]]; then
	echo "standin-image: $image is up to date (${hash:0:12})"
	exit 0
fi

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/tmp" "$ctx/rootfs/root"
chmod 1777 "$ctx/rootfs/tmp"
chmod 0700 "$ctx/rootfs/root"

arch=$(docker version -f '{{.Server.Arch}}')
start=$(date +%s%N)
CGO_ENABLED=0 GOOS=linux GOARCH="$arch" \
	go build -trimpath -ldflags='-s -w' -o "$ctx/rootfs/usr/local/bin/standin" ./test/standin
for name in streamlit pip pip3 python python3; do
	ln -s standin "$ctx/rootfs/usr/local/bin/$name"
done
cp test/standin/Dockerfile "$ctx/Dockerfile"

# The engine has no BuildKit: use the classic builder explicitly.
if ! out=$(DOCKER_BUILDKIT=0 docker build --quiet --label "$label=$hash" -t "$image" "$ctx" 2>&1); then
	echo "$out" >&2
	echo "standin-image: docker build failed" >&2
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
