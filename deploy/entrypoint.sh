#!/bin/sh
# Entry point of the claude-jobs images: runs the service (the arguments) as
# the unprivileged user `claude-jobs` when the container's own cgroups can be
# handed to it (the manager then makes the job cgroups inside them), else as
# root, saying why. CLAUDE_JOBS_RUN_AS=root keeps root.
#
# The container must see its cgroups read-write: `--cgroupns=private` and a
# read-write /sys/fs/cgroup (docker/podman `--privileged`, or compose's
# `cgroup: private` with the mount below); see deploy/README.md.
set -eu

user=claude-jobs
data="${CLAUDE_JOBS_DATA_DIR:-/data}"
log() { echo "entrypoint: $*" >&2; }

# The directories of this process's own cgroups, as mounted here: the cgroup v2
# one, or on a cgroup v1 host those of the memory, cpu, cpuacct and pids
# hierarchies. A mount's root (mountinfo's 4th field) is cut from the path in
# /proc/self/cgroup: with the host's cgroup namespace, runc mounts the
# container's own cgroup as the root of /sys/fs/cgroup/<controller>.
own_cgroups() {
    local_fs=cgroup
    [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] && local_fs=cgroup2
    awk -v want="$local_fs" '
        FNR == NR {
            n = split($0, f, ":"); path[f[2] == "" ? "cgroup2" : f[2]] = f[3]
            m = split(f[2], cs, ","); for (k = 1; k <= m; k++) path[cs[k]] = f[3]
            next
        }
        {
            for (i = 1; $i != "-"; i++) ;
            if ($(i + 1) != want) next
            if (want == "cgroup2") { if (!("cgroup2" in path)) next; p = path["cgroup2"] }
            else {
                p = ""; n = split($(i + 3), o, ",")
                for (j = 1; j <= n; j++) if (o[j] ~ /^(memory|cpu|cpuacct|pids)$/ && (o[j] in path)) { p = path[o[j]]; break }
                if (p == "") next
            }
            if ($4 != "/" && index(p, $4) == 1) p = substr(p, length($4) + 1)
            print $5 p
        }' /proc/self/cgroup /proc/self/mountinfo | sed 's|/$||' | sort -u
}

# Gives the cgroups to $user (the directory and the files a manager writes),
# or fails when they are not writable here.
delegate() {
    dirs="$(own_cgroups)"
    [ -n "$dirs" ] || { why="no cgroup found in /proc/self/cgroup"; return 1; }
    for d in $dirs; do
        probe="$d/claude-jobs-probe-$$"
        if ! mkdir "$probe" 2>/dev/null; then
            why="$d is not writable (a read-only /sys/fs/cgroup: run with a private, read-write cgroup namespace)"
            return 1
        fi
        rmdir "$probe"
    done
    for d in $dirs; do
        chown "$user:$user" "$d"
        for f in cgroup.procs cgroup.threads cgroup.subtree_control tasks; do
            [ -e "$d/$f" ] && chown "$user:$user" "$d/$f"
        done
        # What an earlier run of the manager left (swept at start-up).
        [ -d "$d/claude-jobs" ] && chown -R "$user:$user" "$d/claude-jobs"
        [ -d "$d/claude-jobs-manager" ] && chown -R "$user:$user" "$d/claude-jobs-manager"
    done
    return 0
}

if [ "$(id -u)" = 0 ] && [ "${CLAUDE_JOBS_RUN_AS:-$user}" != root ] && id "$user" >/dev/null 2>&1; then
    why=""
    if delegate; then
        mkdir -p "$data"
        find "$data" \( ! -user "$user" -o ! -group "$user" \) -exec chown -h "$user:$user" {} +
        export HOME="/home/$user" USER="$user"
        log "running as $user (cgroups delegated: $(own_cgroups | tr '\n' ' '))"
        exec setpriv --reuid="$user" --regid="$user" --init-groups --inh-caps=-all -- "$@"
    fi
    log "running as root: $why"
fi
exec "$@"
