# Release artifacts (issue 17): `make dist` writes dist/ (scripts/dist.sh):
# the Python wheel (abi3, manylinux_2_31) and sdist, the npm package and its
# prebuilt linux-x64-gnu addon package, the claude-jobs CLI tarball and the
# verified .crate; every native artifact linked against glibc 2.31 (zig).
#
# `make test-dist` installs each in a clean Debian container without Rust or a
# compiler and runs a capped job with it (scripts/test-dist.sh,
# testing/dist/README.md). It builds dist/ first when it is missing.
#
# DIST_STEPS: some of `wheel npm cli crate` (default all).
# TEST_DIST_SUITES: the Debian bases of test-dist: "trixie" (default) or "trixie bullseye"
# (adds Debian 11: CPython 3.9 and glibc 2.31, the floor of the artifacts; a slow base to make).

DIST_STEPS ?=


.PHONY: dist dist-if-missing test-dist

dist:
	CARGO="$(CARGO)" bash $(ROOT)/scripts/dist.sh $(DIST_STEPS)

# dist/ as `make dist` left it, or built now.
dist-if-missing:
	@if ls dist/claude_jobs-*.whl dist/claude-jobs-[0-9]*.tgz dist/claude-jobs-linux-x64-gnu-*.tgz \
	    dist/claude-jobs-*-x86_64-unknown-linux-gnu.tar.gz dist/claude-jobs-*.crate >/dev/null 2>&1; then \
	  echo "dist/: using the artifacts there (make dist rebuilds them)"; \
	else $(MAKE) --no-print-directory dist; fi

test-dist: dist-if-missing
	CARGO="$(CARGO)" bash $(ROOT)/scripts/test-dist.sh
