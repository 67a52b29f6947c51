# cgroup v2 (issue #4): the core's cgroup behaviour proven in a cgroup v2 guest.
#
# `make test-cgroup-v2` builds the core's integration tests, the `claude-jobs`
# CLI and the fake Claude CLI, packs them (stripped) with busybox and their
# shared libraries into an initramfs, boots a Debian kernel under
# `qemu-system-x86_64 -accel tcg` with cgroup2 mounted on /sys/fs/cgroup, and
# runs every test binary there (scripts/cgroup-v2-tests.sh, which uses
# scripts/cgroup-v2-guest.sh). It fails unless the guest reports success.
# The guest's console shows `GUEST KERNEL:`, `GUEST CGROUP2 CONTROLLERS:`,
# one line per test binary and `cgroup-v2 guest: N passed, M failed`.
#
# qemu-system-x86, busybox-static and cpio are installed by the script when
# missing; the kernel is downloaded once into $(ROOT)/.cache/cgroup-v2/.
# Options: CGROUP_V2_TESTS="oom cgroup_v2_delegation" runs only those test
# binaries; see the script's header for the CGROUP_V2_* environment.

CGROUP_V2_TESTS ?=


.PHONY: test-cgroup-v2

test-cgroup-v2:
	CARGO="$(CARGO)" bash $(ROOT)/scripts/cgroup-v2-tests.sh $(CGROUP_V2_TESTS)
