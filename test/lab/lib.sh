# shellcheck shell=bash disable=SC2034   # the settings are used by the scripts that source this
# lib.sh: shared settings and helpers for the vmbackup test lab (up.sh, down.sh, selftest.sh).
# Sourced, never run. Every knob is an environment variable with a VMBACKUP_LAB_ prefix.

# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------

# All lab state lives here; down.sh deletes it. It must be traversable by qemu (under /var/tmp).
LAB_DIR=${VMBACKUP_LAB_DIR:-/var/tmp/vmbackup-lab}
# Survives down.sh: the built agent-VM kernel+initramfs and libvirt's qemu capability cache,
# so a warm `up` skips the ~5 s kit build and the 1.5-8 s capability probe.
LAB_CACHE=${VMBACKUP_LAB_CACHE:-/var/cache/vmbackup-lab}
LAB_HVS=${VMBACKUP_LAB_HVS:-2}                  # network-namespace hypervisors hv1..hvN (2..9)
LAB_SSH_PORT=${VMBACKUP_LAB_SSH_PORT:-2222}     # sshd for the host itself, on 127.0.0.1
LAB_AGENT=${VMBACKUP_LAB_AGENT:-1}              # 0 = skip the real-agent VM (saves ~250 MiB, ~6 s)
# OS-less VMs: qemu (TCG) | kvm | auto (kvm if a kvm domain starts, else TCG). TCG by default:
# under this machine's /dev/kvm (kvm_pvm) SeaBIOS burns ~3 s of CPU per VM start, under TCG ~0.
LAB_VIRT_TYPE=${VMBACKUP_LAB_VIRT_TYPE:-qemu}
# Linux guests hang under kvm_pvm, so the agent VM is TCG (qemu) by default.
LAB_AGENT_VIRT_TYPE=${VMBACKUP_LAB_AGENT_VIRT_TYPE:-qemu}
LAB_INSTALL=${VMBACKUP_LAB_INSTALL:-1}          # 0 = never run apt-get (fail if something is missing)
LAB_SMALL_MIB=${VMBACKUP_LAB_SMALL_MIB:-64}     # size of the "storage full" tmpfs

# Network: one veth pair per namespace hypervisor, point-to-point /32 addresses from
# 10.250.0.0/24. The host end of every pair is 10.250.0.1; hvN is 10.250.0.(10+N).
# Nothing is routed or forwarded anywhere else.
LAB_NET_HOST_ADDR=10.250.0.1
LAB_NETNS_PREFIX=vmblab-                        # netns and host-side veth names: vmblab-hv1, ...

# Where the namespace hypervisors see the shared backup storage (like the fleet's NFS mount).
LAB_REMOTE_STORAGE=/mnt/backup
LAB_REMOTE_SMALL_STORAGE=/mnt/backup-small

LAB_PACKAGES=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils
              openssh-server openssh-client tini iproute2 e2fsprogs util-linux gzip
              ovmf swtpm swtpm-tools)   # UEFI firmware (lab-uefi, lab-tpm) and the vTPM emulator (lab-tpm)
# The UEFI VMs' firmware, as Debian 12's ovmf 2022.11 ships it (4 MiB flash, no Secure Boot keys).
LAB_OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
LAB_OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
# Downloaded (not installed) to build the agent VM: kernel, agent, static busybox.
LAB_GUEST_PACKAGES=(qemu-guest-agent busybox-static)

export LC_ALL=C

# ---------------------------------------------------------------------------------------------
# Logging
# ---------------------------------------------------------------------------------------------

LAB_T0=${LAB_T0:-$(date +%s.%N)}
elapsed() { awk -v a="$(date +%s.%N)" -v b="$LAB_T0" 'BEGIN { printf "%.1f", a - b }'; }
log()  { printf '[%s %5ss] %s\n' "${LAB_LOG_TAG:-lab}" "$(elapsed)" "$*" >&2; }
warn() { log "WARNING: $*"; }
die()  { log "FATAL: $*"; exit 1; }

# One up.sh/down.sh at a time. The lock is fd 9: anything long-lived we start must close it.
lab_lock() {
  mkdir -p "$LAB_CACHE"
  exec 9>"$LAB_CACHE/lock"
  flock -w 600 9 || die "another up.sh/down.sh holds $LAB_CACHE/lock"
}

require_root() { [ "$(id -u)" = 0 ] || die "run as root (the lab starts libvirtd, sshd and network namespaces)"; }

# wait_until SECONDS CMD...: poll CMD every 0.1 s until it succeeds or the time is up.
wait_until() {
  local deadline=$(( $(date +%s%N) + $1 * 1000000000 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s%N)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# ---------------------------------------------------------------------------------------------
# Recorded processes. A pid file holds "PID COMM STARTTIME"; a process counts as ours only if
# all three still match, so a recycled PID is never signalled.
# ---------------------------------------------------------------------------------------------

proc_starttime() { # field 22 of /proc/PID/stat; the comm field (2) may contain spaces
  local stat; stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  # shellcheck disable=SC2086
  set -- $stat
  [ "$1" != Z ] || return 1        # a zombie is dead for our purposes
  echo "${20}"
}

# record_pid FILE PID: remember PID (must be alive) with its current comm and start time.
record_pid() {
  local file=$1 pid=$2 comm start
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  start=$(proc_starttime "$pid") || return 1
  mkdir -p "$(dirname "$file")"
  echo "$pid $comm $start" > "$file"
}

# recorded_pid FILE: print the PID if that very process is still running, else fail.
recorded_pid() {
  local pid comm start
  [ -s "$1" ] || return 1
  read -r pid comm start < "$1" || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] \
    && [ "$(proc_starttime "$pid")" = "$start" ] || return 1
  echo "$pid"
}

# stop_recorded FILE: SIGTERM the recorded process, SIGKILL it after 5 s. No-op if it is gone.
stop_recorded() {
  local pid comm
  pid=$(recorded_pid "$1") || { rm -f "$1"; return 0; }
  comm=$(cat "/proc/$pid/comm")
  kill "$pid" 2>/dev/null || true
  if ! wait_until 5 bash -c "! [ -e /proc/$pid ] || grep -q '^[0-9]* (.*) Z' /proc/$pid/stat"; then
    kill -9 "$pid" 2>/dev/null || true
    log "killed $comm ($pid) with SIGKILL"
  else
    log "stopped $comm ($pid)"
  fi
  rm -f "$1"
}

# ---------------------------------------------------------------------------------------------
# The subreaper. PID 1 on these machines reaps orphans only every ~2 s, and libvirt waits for a
# destroyed qemu to vanish, so each `virsh destroy` or daemon stop would cost ~2 s. tini -s makes
# itself a child-subreaper; daemons started through it (they double-fork) and the qemu processes
# they spawn become its descendants and are reaped at once. reaper.sh (tini's child) starts each
# command written to a FIFO.
# ---------------------------------------------------------------------------------------------

reaper_pidfile() { echo "$LAB_DIR/pids/reaper.pid"; }
reaper_alive() { recorded_pid "$(reaper_pidfile)" >/dev/null; }

# spawn CMD: run the one-line shell command CMD as a descendant of the reaper and wait for it
# (daemons return as soon as they have forked). Output goes to $LAB_DIR/logs/spawn.log.
spawn() {
  if ! reaper_alive; then
    bash -c "$1" </dev/null >>"$LAB_DIR/logs/spawn.log" 2>&1 9>&-
    return
  fi
  local id="$$-$RANDOM$RANDOM" rc
  # The reaper holds the FIFO open read-write, so this open never blocks while it lives.
  printf '%s\t%s\n' "$id" "$1" > "$LAB_DIR/run/reaper.fifo"
  wait_until 120 test -e "$LAB_DIR/run/spawn.$id.rc" || { log "spawn timed out: $1"; return 124; }
  rc=$(cat "$LAB_DIR/run/spawn.$id.rc"); rm -f "$LAB_DIR/run/spawn.$id.rc"
  return "$rc"
}

# ---------------------------------------------------------------------------------------------
# Hypervisors. "local" is this machine (qemu:///system, sshd on 127.0.0.1); hvN live in network
# namespaces, each with a private libvirtd whose /run, /etc/libvirt, /var/lib/libvirt,
# /var/log/libvirt and /var/cache/libvirt are its own (bind mounts from $LAB_DIR/hosts/hvN).
# ---------------------------------------------------------------------------------------------

lab_hv_names() { local i; for ((i = 1; i <= LAB_HVS; i++)); do echo "hv$i"; done; }
lab_host_names() { echo local; lab_hv_names; }
host_dir() { echo "$LAB_DIR/hosts/$1"; }
hv_netns() { echo "$LAB_NETNS_PREFIX$1"; }
hv_addr() { echo "10.250.0.$(( 10 + ${1#hv} ))"; }
host_addr() { if [ "$1" = local ]; then echo 127.0.0.1; else hv_addr "$1"; fi; }
host_ssh_port() { if [ "$1" = local ]; then echo "$LAB_SSH_PORT"; else echo 22; fi; }

# host_exec HOST CMD...: run CMD as if on HOST, without ssh (nsenter into a hv's namespaces).
host_exec() {
  local h=$1 pid; shift
  if [ "$h" = local ]; then "$@"; return; fi
  pid=$(recorded_pid "$(host_dir "$h")/pids/libvirtd.pid") || { echo "$h: libvirtd is not running" >&2; return 1; }
  nsenter --target "$pid" --mount --net --uts "$@"
}
host_virsh() { local h=$1; shift; host_exec "$h" virsh -q -c qemu:///system "$@"; }

# The ssh options every lab client uses: key only, strict host key checking, lab known_hosts.
lab_ssh_opts() {
  printf '%s\n' -i "$LAB_DIR/ssh/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$LAB_DIR/ssh/known_hosts" \
    -o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=5 -o LogLevel=ERROR
}
