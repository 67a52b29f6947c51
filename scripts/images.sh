#!/usr/bin/env bash
# Container images from the artifacts of `make dist` (`make image`; issue 17).
#
#   scripts/images.sh tools     podman, runc, mmdebstrap (Debian packages) when missing
#   scripts/images.sh base      the Debian base image, built with mmdebstrap (no registry
#                               is needed), cached as .cache/images/debian-trixie.tar and
#                               imported as localhost/claude-jobs-base:trixie
#   scripts/images.sh context   .cache/image-context: dist/, the pinned Claude CLI, the
#                               services' sources, deploy/ (hard links, no copies)
#   scripts/images.sh build     localhost/claude-jobs-api and localhost/claude-jobs-node-api
#   scripts/images.sh           all of the above
#
# podman runs its build steps with runc (crun fails on this kind of cgroup v1
# hybrid host), ulimits within the hard limits, the host's network.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$root"
log() { printf 'images: %s\n' "$*" >&2; }

DIST="${DIST:-$root/dist}"
CACHE="$root/.cache/images"
CONTEXT="$root/.cache/image-context"
SUITE="${DEBIAN_SUITE:-trixie}"
# More packages in the base (comma-separated), for the tests' own bases.
BASE_INCLUDE="${BASE_INCLUDE:-}"
BASE_NAME="$SUITE${BASE_INCLUDE:+-$(tr ',' '-' <<<"$BASE_INCLUDE")}"
BASE_IMAGE="localhost/claude-jobs-base:$BASE_NAME"
API_IMAGE="${API_IMAGE:-localhost/claude-jobs-api:latest}"
NODE_IMAGE="${NODE_IMAGE:-localhost/claude-jobs-node-api:latest}"
# The options every podman command here needs on this host.
PODMAN_RUN_OPTS=(--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network host)
export PODMAN_RUN_OPTS

tools() {
    local missing=()
    command -v podman >/dev/null || missing+=(podman)
    command -v runc >/dev/null || missing+=(runc)
    command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
    [[ ${#missing[@]} -eq 0 ]] && return
    log "installing ${missing[*]} (Debian packages)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The base: Debian minbase with ca-certificates, made once per machine
# (.cache/images is git-ignored; a fresh clone makes it again, ~70 s).
base() {
    tools
    local tar="$CACHE/debian-$BASE_NAME.tar" start=$SECONDS
    if [[ ! -s "$tar" ]]; then
        log "mmdebstrap --variant=minbase $SUITE${BASE_INCLUDE:+ with $BASE_INCLUDE} (cached in $tar)"
        mkdir -p "$CACHE"
        # (mmdebstrap picks the output format from the name: keep .tar last)
        mmdebstrap --quiet --variant=minbase --include="ca-certificates${BASE_INCLUDE:+,$BASE_INCLUDE}" \
            "$SUITE" "$CACHE/.partial-$BASE_NAME.tar"
        mv "$CACHE/.partial-$BASE_NAME.tar" "$tar"
        log "$tar: $(du -m "$tar" | cut -f1) MB in $((SECONDS - start)) s"
    fi
    # Imported again only when the tarball is newer than the image.
    local created
    created="$(podman image inspect --format '{{.Created.Unix}}' "$BASE_IMAGE" 2>/dev/null || echo 0)"
    if [[ "$created" -lt "$(stat -c %Y "$tar")" ]]; then
        log "importing $tar as $BASE_IMAGE"
        podman import -q "$tar" "$BASE_IMAGE" >/dev/null
    fi
}

# The build context, made of hard links to what the images need.
context() {
    local claude
    claude="$(bash scripts/install-claude.sh | tail -n1)"
    ls "$DIST"/claude_jobs-*.whl "$DIST"/claude-jobs-[0-9]*.tgz "$DIST"/claude-jobs-linux-x64-gnu-*.tgz >/dev/null ||
        { log "dist/ lacks the wheel or the npm tarballs: run make dist first"; exit 1; }
    rm -rf "$CONTEXT"
    mkdir -p "$CONTEXT"/{dist,deploy,examples/fastapi}
    ln -f "$claude" "$CONTEXT/claude" 2>/dev/null || cp "$claude" "$CONTEXT/claude"
    ln -f "$DIST"/claude_jobs-*.whl "$DIST"/claude-jobs-[0-9]*.tgz "$DIST"/claude-jobs-linux-x64-gnu-*.tgz "$CONTEXT/dist/"
    cp deploy/entrypoint.sh deploy/*.Containerfile "$CONTEXT/deploy/"
    cp examples/fastapi/*.py examples/fastapi/requirements.txt "$CONTEXT/examples/fastapi/"
    # The Node service, installed from the tarballs (its package.json points at
    # ../../bindings-node for development: the tarballs replace that).
    local app="$CONTEXT/node-service"
    mkdir -p "$app"
    cp examples/node-service/package.json "$app/"
    cp -R examples/node-service/src "$app/src"
    local main plat
    main="$(ls "$DIST"/claude-jobs-[0-9]*.tgz)" plat="$(ls "$DIST"/claude-jobs-linux-x64-gnu-*.tgz)"
    (cd "$app" &&
        npm pkg delete devDependencies overrides dependencies.claude-jobs &&
        npm install --omit=dev --no-audit --no-fund --loglevel=error "$plat" "$main" >&2 &&
        rm -f package-lock.json)
}

build_one() {
    local file="$1" tag="$2" start=$SECONDS
    log "building $tag ($file, FROM $BASE_IMAGE)"
    # --format docker: OCI images cannot carry HEALTHCHECK.
    podman build --quiet --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
        --network host --format docker --build-arg "BASE=$BASE_IMAGE" "${HOST_CA_OPTS[@]}" \
        -f "$CONTEXT/deploy/$file" -t "$tag" "$CONTEXT" >/dev/null
    log "$tag: $(podman image inspect --format '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}') in $((SECONDS - start)) s"
}

# A host that reaches PyPI and npm through a TLS proxy trusts its CA in the
# system bundle: pip and npm in the build steps get that bundle (mounted for
# the build only, never copied into an image).
HOST_CA=/etc/ssl/certs/ca-certificates.crt
HOST_CA_OPTS=()
if [[ -s "$HOST_CA" ]]; then
    HOST_CA_OPTS=(-v "$HOST_CA:/run/host-ca.crt:ro" --build-arg PIP_CERT=/run/host-ca.crt
        --build-arg NODE_EXTRA_CA_CERTS=/run/host-ca.crt)
fi

build() {
    build_one api.Containerfile "$API_IMAGE"
    build_one node-api.Containerfile "$NODE_IMAGE"
    podman images --filter reference='localhost/claude-jobs*' >&2
}

steps=("$@")
[[ ${#steps[@]} -gt 0 ]] || steps=(base context build)
for s in "${steps[@]}"; do
    case "$s" in
    tools) tools ;;
    base) base ;;
    context) context ;;
    build) build ;;
    *) log "unknown step $s (tools, base, context, build)"; exit 2 ;;
    esac
done
