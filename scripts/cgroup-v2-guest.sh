#!/usr/bin/env bash
# cgroup-v2-guest.sh: run Linux binaries inside a minimal cgroup-v2 guest (qemu, software
# emulation), for testing cgroup v2 code on a cgroup v1 host.
#
# Usage:
#   scripts/cgroup-v2-guest.sh [--mem MB] [--timeout SECONDS] [--env NAME=VALUE]...
#                              [--file HOSTPATH[:GUESTPATH]]... -- COMMAND [ARGS...]
#
#   --mem MB          guest memory (default 2048)
#   --timeout SECONDS host-side limit for the whole guest run (default 900)
#   --env NAME=VALUE  exported in the guest before COMMAND runs (repeatable)
#   --file HOST[:GUEST]  copy HOST into the guest (default GUEST path /bin/<basename>),
#                     with every shared library `ldd` lists for it (repeatable)
#
# The guest boots a Debian kernel with a busybox initramfs; /init mounts proc, sysfs,
# devtmpfs, tmpfs on /tmp and /run, and cgroup2 on /sys/fs/cgroup, then runs COMMAND as
# root in /root with the console as stdout/stderr and prints "GUEST-EXIT-STATUS: <code>".
# Exit status: 0 if the guest command exited 0; the command's status if non-zero;
# 124 if the guest timed out, 125 if it died without reporting; 64 on a usage error.
#
# Installs qemu-system-x86, busybox-static and cpio with apt-get when missing. The kernel
# (downloaded with `apt-get download`) is cached in <repo>/.cache/cgroup-v2/ (gitignored);
# the console of the last run is kept in .cache/cgroup-v2/last-console.log.
# Environment: CGROUP_V2_KERNEL_PKG overrides the kernel package; CGROUP_V2_ACCEL
# (default tcg; KVM does not work on this project's machines) picks the qemu accelerator.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE="$REPO/.cache/cgroup-v2"
MEM=2048 TIMEOUT=900 FILES=() ENVS=()

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2; exit 64; }
die() { echo "cgroup-v2-guest: $1" >&2; exit "${2:-1}"; }
log() { echo "cgroup-v2-guest: $*" >&2; }
# Single-quote a string for the guest's /bin/sh.
shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --mem) [ $# -ge 2 ] || usage; MEM=$2; shift 2 ;;
    --timeout) [ $# -ge 2 ] || usage; TIMEOUT=$2; shift 2 ;;
    --file) [ $# -ge 2 ] || usage; FILES+=("$2"); shift 2 ;;
    --env) [ $# -ge 2 ] || usage; [[ $2 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "bad --env '$2'" 64
           ENVS+=("$2"); shift 2 ;;
    --) shift; break ;;
    -h|--help) usage ;;
    *) usage ;;
  esac
done
[ $# -ge 1 ] || usage
[[ $MEM =~ ^[0-9]+$ && $TIMEOUT =~ ^[0-9]+$ ]] || die "--mem and --timeout take integers" 64

# --- host tools -------------------------------------------------------------------------
APT_UPDATED=
apt_update_once() {
  [ -n "$APT_UPDATED" ] && return 0
  log "apt-get update"; apt-get update -qq >&2; APT_UPDATED=1
}
missing=()
for pkg in qemu-system-x86 busybox-static cpio; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing packages (${missing[*]}); install them as root"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_install() { apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
  apt_install || { apt_update_once; apt_install; }
fi
BUSYBOX=$(command -v busybox) || die "busybox not found after installing busybox-static"

# --- kernel (cached) --------------------------------------------------------------------
pick_kernel_pkg() {
  local meta dep
  for meta in linux-image-cloud-amd64 linux-image-amd64; do
    dep=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
    [ -n "$dep" ] || continue
    for cand in "$dep-unsigned" "$dep"; do
      apt-cache show "$cand" >/dev/null 2>&1 && { echo "$cand"; return 0; }
    done
  done
  return 1
}
fetch_kernel() {
  local pkg=${CGROUP_V2_KERNEL_PKG:-} tmp cfg opt missing_opts=()
  if [ -z "$pkg" ]; then
    pkg=$(pick_kernel_pkg) || { apt_update_once; pkg=$(pick_kernel_pkg); } ||
      die "no Debian linux-image package found (apt-cache depends linux-image-cloud-amd64)"
  fi
  tmp=$(mktemp -d)
  log "downloading kernel package $pkg"
  (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >&2) ||
    { apt_update_once; (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >&2); }
  dpkg-deb -x "$tmp"/*.deb "$tmp/root"
  cfg=$(compgen -G "$tmp/root/boot/config-*" | head -n1) || true
  if [ -n "$cfg" ]; then
    # Built in (=y), not modules: the initramfs carries no modules.
    for opt in CGROUPS MEMCG CGROUP_PIDS CGROUP_SCHED FAIR_GROUP_SCHED CFS_BANDWIDTH \
               SERIAL_8250 SERIAL_8250_CONSOLE DEVTMPFS BLK_DEV_INITRD TMPFS INET ACPI; do
      grep -qx "CONFIG_$opt=y" "$cfg" || missing_opts+=("$opt")
    done
    [ ${#missing_opts[@]} -eq 0 ] || die "kernel $pkg lacks built-in: ${missing_opts[*]}"
  else
    log "warning: $pkg ships no /boot/config-*; cannot check kernel options"
  fi
  cp "$(compgen -G "$tmp/root/boot/vmlinuz-*" | head -n1)" "$CACHE/vmlinuz.new"
  dpkg-deb -f "$tmp"/*.deb Package Version > "$CACHE/kernel-package.txt"
  mv "$CACHE/vmlinuz.new" "$CACHE/vmlinuz"
  rm -rf "$tmp"
}
mkdir -p "$CACHE"
(
  flock 9   # concurrent runs download the kernel once
  [ -s "$CACHE/vmlinuz" ] || fetch_kernel
) 9>"$CACHE/.lock"

# --- initramfs --------------------------------------------------------------------------
WORK=$(mktemp -d)
cleanup() {  # stop a still-running qemu (the script was interrupted), then remove WORK
  local pid
  pid=$(cat "$WORK/qemu.pid" 2>/dev/null) && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == qemu-system* ]] &&
    kill "$pid" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
ROOT="$WORK/root"
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,root,etc}
cp "$BUSYBOX" "$ROOT/bin/busybox"

add_file() {  # add_file HOSTPATH GUESTPATH: copy a file and the libraries ldd lists for it
  local host=$1 guest=$2 lib
  [ -f "$host" ] || die "--file $host: not a file" 64
  mkdir -p "$ROOT$(dirname "$guest")"
  cp -L --preserve=mode "$host" "$ROOT$guest"
  # Lines look like "libc.so.6 => /lib/.../libc.so.6 (0x...)" or "/lib64/ld-linux... (0x...)".
  for lib in $(ldd "$host" 2>/dev/null | grep -o '/[^ )]*' || true); do
    [ -e "$ROOT$lib" ] && continue
    mkdir -p "$ROOT$(dirname "$lib")"
    cp -L "$lib" "$ROOT$lib"
  done
}
for spec in "${FILES[@]+"${FILES[@]}"}"; do
  host=${spec%%:*}
  if [[ $spec == *:* ]]; then guest=${spec#*:}; else guest=/bin/$(basename "$host"); fi
  [[ $guest == /* ]] || die "--file $spec: guest path must be absolute" 64
  add_file "$host" "$guest"
done

{
  cat <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/null >/dev/console 2>&1
/bin/busybox --install -s
export PATH=/root/bin:/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t cgroup2 none /sys/fs/cgroup
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
echo "GUEST KERNEL: $(uname -r)"
echo "GUEST CGROUP2 CONTROLLERS: $(cat /sys/fs/cgroup/cgroup.controllers)"
EOF
  for e in "${ENVS[@]+"${ENVS[@]}"}"; do echo "export ${e%%=*}=$(shq "${e#*=}")"; done
  printf 'cd /root\n( '   # a subshell, so that even `exit` cannot end PID 1
  for a in "$@"; do printf '%s ' "$(shq "$a")"; done
  printf ')'
  cat <<'EOF'

status=$?
echo "GUEST-EXIT-STATUS: $status"
sleep 1   # let the serial port drain before the power goes
poweroff -f
EOF
} > "$ROOT/init"
chmod 755 "$ROOT/init"
# Uncompressed: decompressing under software emulation costs more than it saves.
(cd "$ROOT" && find . | cpio -o -H newc --quiet) > "$WORK/initrd.cpio"

# --- boot -------------------------------------------------------------------------------
ACCEL=${CGROUP_V2_ACCEL:-tcg}
CPU=max; [ "$ACCEL" = kvm ] && CPU=host
LOG="$CACHE/last-console.log"
log "booting $(paste -sd' ' "$CACHE/kernel-package.txt" | sed 's/Package: //;s/Version: //')" \
    "(accel $ACCEL, ${MEM} MB, timeout ${TIMEOUT}s)"
start=$SECONDS
# In the background with `wait`, so that INT/TERM run the trap at once (bash defers traps
# until a foreground pipeline ends); --foreground keeps qemu in our process group.
( rc=0; timeout --foreground -k 10 "$TIMEOUT" qemu-system-x86_64 -accel "$ACCEL" -cpu "$CPU" \
    -m "$MEM" -smp 2 -nographic -vga none -no-reboot -nic none -pidfile "$WORK/qemu.pid" \
    -kernel "$CACHE/vmlinuz" -initrd "$WORK/initrd.cpio" \
    -append "console=ttyS0 quiet panic=-1" </dev/null 2>&1 || rc=$?
  echo "$rc" > "$WORK/qemu.rc"
) | sed -u 's/\x1bc//g; s/\x1b\[?7l//g; s/\x1b\[2J//g' |  # SeaBIOS's terminal reset, clear
  tee "$LOG" &
wait $! || true
qemu_rc=$(cat "$WORK/qemu.rc" 2>/dev/null || echo '?')
elapsed=$((SECONDS - start))

status=$(tr -d '\r' < "$LOG" | sed -n 's/.*GUEST-EXIT-STATUS: \([0-9]\{1,\}\)$/\1/p' | tail -n1)
if [ -z "$status" ]; then
  if [ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ]; then
    die "guest timed out after ${TIMEOUT}s without reporting an exit status (log: $LOG)" 124
  fi
  die "guest crashed or stopped without reporting an exit status (qemu exit $qemu_rc, log: $LOG)" 125
fi
if [ "$status" != 0 ]; then
  die "guest command failed with status $status after ${elapsed}s (log: $LOG)" "$status"
fi
log "guest command succeeded in ${elapsed}s"
