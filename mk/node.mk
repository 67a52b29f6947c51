# Node binding (bindings-node/) and the Node service example (examples/node-service/).
#
# `make test-node` installs and builds the binding as a user would
# (`npm ci && npm run build` in bindings-node: napi-rs, the npm devDependencies
# from the lockfile), builds the fake CLI and the mock API, installs the
# example's dependencies, type-checks the typed usage files and the example with
# `tsc --noEmit`, runs the addon's Rust unit tests, then both node:test suites
# in one `node --test` run (the real-CLI test installs the pinned CLI if needed).

NPM ?= npm
NODE ?= node
# Cargo profile of the addon built for the tests: `dev` (fast to build);
# `make test-node NODE_BUILD_PROFILE=release` builds what `npm run build` gives users.
NODE_BUILD_PROFILE ?= dev
NPM_FLAGS := --no-audit --no-fund


.PHONY: test-node node-binding node-service-deps

# `npm ci` when the lockfile exists (it is committed), else `npm install`.
define npm_install
	cd $(1) && if [ -f package-lock.json ]; then $(NPM) ci $(NPM_FLAGS); else $(NPM) install $(NPM_FLAGS); fi
endef

node-binding:
	$(call npm_install,bindings-node)
	cd bindings-node && CLAUDE_JOBS_NODE_PROFILE=$(NODE_BUILD_PROFILE) $(NPM) run build

node-service-deps: node-binding
	$(call npm_install,examples/node-service)

test-node: node-service-deps
	$(CARGO) build -p fake-claude -p mock-anthropic
	$(CARGO) test -p claude-jobs-node
	cd bindings-node && $(NPM) run typecheck
	cd examples/node-service && $(NPM) run typecheck
	CLAUDE_BIN="$$(bash scripts/install-claude.sh | tail -n1)" \
	  $(NODE) --test bindings-node/__test__/ examples/node-service/test/
