# Container deployment (issue 17): deploy/ holds a Containerfile per service,
# the entrypoint, compose.yaml (+ compose.postgres.yaml) and .env.example.
#
# make image           builds localhost/claude-jobs-api and localhost/claude-jobs-node-api
#                      with podman from dist/ (scripts/images.sh): a Debian 13 base made by
#                      mmdebstrap (cached in .cache/images/), the wheel, the npm tarballs,
#                      the pinned Claude CLI. Installs podman, runc and mmdebstrap if missing.
# make test-container  runs both images privileged with a private cgroup namespace, as
#                      compose runs them (HOST 0.0.0.0 and an API keys file), and checks
#                      them over HTTP with the key (testing/container/test_container.py):
#                      the FastAPI image refusing to start without keys and answering 401
#                      without the key, an OOM job beside a normal one, /health, /metrics,
#                      a stop with running jobs (nothing left on the host), a restart on
#                      the same volume; then that the compose files parse and name what
#                      the README says (testing/container/check_compose.py).


.PHONY: image image-context test-container test-compose

image: dist-if-missing
	bash $(ROOT)/scripts/images.sh

# Only the build context (.cache/image-context), for `docker build` / `docker compose build`.
image-context: dist-if-missing
	bash $(ROOT)/scripts/images.sh context

# `make image` again: unchanged layers come from podman's cache.
test-container: image test-compose
	$(CARGO) build -q -p fake-claude
	FAKE_CLAUDE="$(or $(CARGO_TARGET_DIR),$(ROOT)/target)/debug/fake-claude" python3 $(ROOT)/testing/container/test_container.py

test-compose:
	bash $(ROOT)/testing/container/check_compose.sh
