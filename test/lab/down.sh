#!/usr/bin/env bash
# down.sh [--purge]: tear the vmbackup test lab down.
#
# Stops only processes the lab started: each one is named by a pid file under $LAB_DIR holding
# "PID COMM STARTTIME", and is signalled only if /proc/PID still shows that comm and start time.
# Removes the lab's VMs, libvirt networks and their bridges, network namespaces, the
# small-storage tmpfs and $LAB_DIR.
#   --purge  also delete $VMBACKUP_LAB_CACHE (agent VM kit, downloaded debs, capability cache).
# Installed packages and the libvirt-qemu user are left in place.
set -uo pipefail    # no -e: carry on removing the rest when one part is already gone

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_LOG_TAG=down
# shellcheck source=lib.sh
source "$HERE/lib.sh"
# shellcheck source=net.sh
source "$HERE/net.sh"
cd /

PURGE=0
case ${1:-} in
  --purge) PURGE=1 ;;
  "") ;;
  *) die "usage: down.sh [--purge]" ;;
esac

# destroy_running HOST: stop every running domain of a lab-owned libvirtd. No undefine needed:
# their definitions live in $LAB_DIR/hosts/HOST/etc, which goes with $LAB_DIR.
destroy_running() {
  local h=$1 d
  for d in $(host_virsh "$h" list --name 2>/dev/null); do
    host_virsh "$h" destroy "$d" >/dev/null 2>&1 && log "$h: stopped VM $d"
  done
}

# remove_domains HOST NAME...: destroy and undefine the named domains (in a libvirtd not ours).
remove_domains() {
  local h=$1 d; shift
  for d in "$@"; do
    host_virsh "$h" domstate "$d" >/dev/null 2>&1 || continue
    host_virsh "$h" destroy "$d" >/dev/null 2>&1
    host_virsh "$h" undefine "$d" --checkpoints-metadata --snapshots-metadata --nvram --tpm >/dev/null 2>&1 \
      || host_virsh "$h" undefine "$d" --checkpoints-metadata --snapshots-metadata >/dev/null 2>&1 \
      || host_virsh "$h" undefine "$d" >/dev/null 2>&1
    log "$h: removed VM $d"
  done
}

# A qemu whose libvirtd is gone cannot be destroyed through virsh: stop it by its recorded pid.
stop_leftover_qemus() {
  local f
  for f in "$1"/pids/qemu-*.pid; do [ -e "$f" ] && stop_recorded "$f"; done
}

stop_hv() {
  local h=$1 d ns; d=$(host_dir "$h"); ns=$(hv_netns "$h")
  recorded_pid "$d/pids/libvirtd.pid" >/dev/null && destroy_running "$h"
  stop_leftover_qemus "$d"
  stop_recorded "$d/pids/sshd.pid"
  stop_recorded "$d/pids/libvirtd.pid"
  stop_recorded "$d/pids/virtlogd.pid"
  # Processes still in the namespace were not started by the lab's scripts (e.g. a test's ssh
  # session that is still running): report them, do not kill them. The netns then lingers until
  # they exit; deleting its veth makes it unreachable anyway.
  local left; left=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
  [ -z "$left" ] || warn "$h: processes still in netns $ns, not killed: $left"
  if ip netns list 2>/dev/null | grep -qx "$ns\( .*\)\?"; then ip netns del "$ns" && log "$h: deleted netns $ns"; fi
  ip link del "$ns" 2>/dev/null
}

stop_local() {
  local d; d=$(host_dir local)
  stop_recorded "$d/pids/sshd.pid"
  if recorded_pid "$d/pids/libvirtd.pid" >/dev/null; then
    # Our own libvirtd: everything in it is the lab's (tests may have defined more VMs).
    destroy_running local
  elif [ -s "$LAB_DIR/lab.env" ] && [ -S /run/libvirt/libvirt-sock ]; then
    # Someone else's libvirtd: remove only the VMs the lab defined in it.
    local vms; vms=$(sed -n "s/^LAB_HOST_LOCAL_VMS='\(.*\)'$/\1/p" "$LAB_DIR/lab.env")
    # shellcheck disable=SC2086
    [ -z "$vms" ] || remove_domains local $vms
  fi
  # The lab networks (after the VMs on them): libvirt keeps a network's status in the real
  # /run/libvirt/network, so undefine them even in our own libvirtd. Then their bridges.
  remove_networks
  stop_leftover_qemus "$d"
  stop_recorded "$d/pids/libvirtd.pid"
  stop_recorded "$d/pids/virtlogd.pid"
}

main() {
  require_root
  lab_lock
  if [ ! -d "$LAB_DIR" ]; then log "no lab at $LAB_DIR"; else
    [ -e "$LAB_DIR/.vmbackup-lab" ] || die "$LAB_DIR has no .vmbackup-lab marker: not deleting it"
    local d h
    # Every hvN that ever existed, whatever VMBACKUP_LAB_HVS says now.
    for d in "$LAB_DIR"/hosts/hv*; do [ -d "$d" ] && stop_hv "${d##*/}"; done
    stop_local
    stop_recorded "$(reaper_pidfile)"
    # up.sh's bind mount of the local libvirtd's /var/lib/libvirt (NVRAM, swtpm state) for the runner.
    # (The same directory: by the mount's root, or by device and inode when $LAB_DIR is on another filesystem.)
    if mountpoint -q /var/lib/libvirt && { [ "$(findmnt -n -o FSROOT --mountpoint /var/lib/libvirt)" = "$(host_dir local)/lib" ] \
         || [ "$(stat -c %d:%i /var/lib/libvirt)" = "$(stat -c %d:%i "$(host_dir local)/lib" 2>/dev/null)" ]; }; then
      umount /var/lib/libvirt 2>/dev/null || umount -l /var/lib/libvirt
      log "unmounted /var/lib/libvirt (the lab's local libvirt state)"
    fi
    if mountpoint -q "$LAB_DIR/storage/small"; then
      umount "$LAB_DIR/storage/small" 2>/dev/null || umount -l "$LAB_DIR/storage/small"
      log "unmounted the small storage"
    fi
    # Never follow a mount into something that is not ours.
    if findmnt -rn -o TARGET | grep -q "^$LAB_DIR/"; then
      findmnt -rn -o TARGET | grep "^$LAB_DIR/" >&2
      die "mounts remain under $LAB_DIR: not deleting it"
    fi
    rm -rf "$LAB_DIR" && log "removed $LAB_DIR"
  fi
  # Links of hvN whose lab dir was deleted by hand.
  for h in $(ip -o link show 2>/dev/null | sed -n "s/^[0-9]*: \(${LAB_NETNS_PREFIX}[a-z0-9]*\)[@:].*/\1/p"); do
    ip link del "$h" 2>/dev/null && log "deleted leftover link $h"
  done
  if [ "$PURGE" = 1 ]; then rm -rf "$LAB_CACHE" && log "removed $LAB_CACHE"; fi
  log "done"
}

main "$@"
