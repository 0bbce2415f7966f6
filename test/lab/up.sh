#!/usr/bin/env bash
# up.sh: bring the vmbackup test lab up. Idempotent: a second run only checks and repairs.
#
# What it builds (see README.md): the host's own libvirtd (qemu:///system) plus an sshd on
# 127.0.0.1:$VMBACKUP_LAB_SSH_PORT; N "hypervisors" hv1..hvN in network namespaces, each with
# its own libvirtd, sshd (10.250.0.1N:22) and VMs; small VMs (OS-less ones, one with a real
# qemu-guest-agent, one with NICs); two isolated libvirt networks on the local libvirtd (net.sh);
# backup storage plus a 64 MiB "storage full" tmpfs; an ssh key pair and a known_hosts file. Everything a test needs is written to $LAB_DIR/lab.env and lab.json.
#
# Debian 12, run as root. Works without systemd as PID 1. Tear down with down.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_LOG_TAG=up
# shellcheck source=lib.sh
source "$HERE/lib.sh"
# shellcheck source=net.sh
source "$HERE/net.sh"

# ---------------------------------------------------------------------------------------------
# The VM inventory. Disk specs are TARGET:VIRTUAL_MIB:CONTENT, where CONTENT is a data pattern
# (written with qemu-io so tests can verify copies byte for byte) or "ext4" (a real filesystem).
# ---------------------------------------------------------------------------------------------

declare -A PATTERN=(
  [std]="0xab:0:4194304 0xcd:536870912:1048576"   # 4 MiB at 0, 1 MiB at 512 MiB
  [small]="0x5b:0:2097152"                        # 2 MiB at 0
  [big]="0xb1:0:83886080"                         # 80 MiB: larger than the small storage
)
VMS=()
declare -A VM_HOST VM_MEM VM_OS VM_AGENT VM_STATE VM_DISKSPEC VM_TYPE VM_NICS VM_FW VM_TPM
ROLE_NOOS=lab-noos ROLE_AGENT=lab-agent ROLE_DEAD_AGENT=lab-noos ROLE_NO_CHANNEL=hv2-vm1
ROLE_MULTIDISK=hv1-vm1 ROLE_BIG=hv2-vm1 ROLE_OFFLINE=hv2-vm2 ROLE_NET=lab-net ROLE_UEFI=lab-uefi ROLE_TPM=lab-tpm

# add_vm NAME HOST MEMORY_MIB OS(none|linux) AGENT(live|dead|none) STATE(running|shutoff) DISK...
#   AGENT: live = channel + real agent, dead = channel but no agent, none = no channel at all.
add_vm() {
  local n=$1
  VMS+=("$n"); VM_HOST[$n]=$2 VM_MEM[$n]=$3 VM_OS[$n]=$4 VM_AGENT[$n]=$5 VM_STATE[$n]=$6
  shift 6; VM_DISKSPEC[$n]="$*"
}
define_inventory() {
  add_vm lab-noos local 64 none dead running vda:1024:std
  [ "$LAB_AGENT" = 1 ] && add_vm lab-agent local 128 linux live running vda:256:ext4
  # NICs for restore --network keep|none|isolated, as MAC@NETWORK[@TAP] (see net.sh). Fixed MACs;
  # the first NIC also has a fixed tap name, as some production VMs do (a copy must not reuse it).
  add_vm lab-net local 64 none none running vda:64:small
  VM_NICS[lab-net]="52:54:00:1a:b0:01@lab-prod@labnet-eth0 52:54:00:1a:b0:02@lab-prod"
  # UEFI (OVMF; an OS-less VM ends in the UEFI shell) with its NVRAM at libvirt's standard path;
  # and UEFI plus an emulated TPM 2.0 (swtpm) on a namespace host, so both transports are covered.
  # Opt-in VMs: policy-repo.ts leaves them out unless a test asks for them.
  add_vm lab-uefi local 128 none none running vda:64:small
  VM_FW[lab-uefi]=uefi
  add_vm lab-tpm hv1 128 none none running vda:64:small
  VM_FW[lab-tpm]=uefi VM_TPM[lab-tpm]=2.0
  add_vm hv1-vm1 hv1 64 none dead running vda:1024:std vdb:256:small
  add_vm hv2-vm1 hv2 64 none none running vda:1024:big
  add_vm hv2-vm2 hv2 64 none dead shutoff vda:1024:std
  local i
  for ((i = 3; i <= LAB_HVS; i++)); do add_vm "hv$i-vm1" "hv$i" 64 none dead running vda:1024:std; done
  [ "$LAB_AGENT" = 1 ] || ROLE_AGENT=""
}

# Disk paths as the VM's hypervisor sees them, and as this machine (the test runner) sees them.
# hvN keep images where RHEL does, /var/lib/libvirt/images, which is $LAB_DIR/hosts/hvN/lib/images.
disk_file() { if [ "$2" = vda ]; then echo "$1.qcow2"; else echo "$1-$2.qcow2"; fi; }
disk_path() {
  if [ "${VM_HOST[$1]}" = local ]; then lab_disk_path "$1" "$2"
  else echo "/var/lib/libvirt/images/$(disk_file "$1" "$2")"; fi
}
lab_disk_path() {
  if [ "${VM_HOST[$1]}" = local ]; then echo "$(host_dir local)/images/$(disk_file "$1" "$2")"
  else echo "$(host_dir "${VM_HOST[$1]}")/lib/images/$(disk_file "$1" "$2")"; fi
}

# ---------------------------------------------------------------------------------------------
# Packages
# ---------------------------------------------------------------------------------------------

APT_UPDATED=0
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 "$@"; }
apt_update_once() {
  [ "$APT_UPDATED" = 1 ] && return 0
  # Always refresh: lists from an old image snapshot 404 on superseded .debs.
  apt_get update >>"$LAB_DIR/logs/apt.log" 2>&1 || die "apt-get update failed (see $LAB_DIR/logs/apt.log)"
  APT_UPDATED=1
}

install_packages() {
  local p missing=()
  for p in "${LAB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} = 0 ]; then log "packages already installed"; return 0; fi
  [ "$LAB_INSTALL" = 1 ] || die "missing packages: ${missing[*]} (VMBACKUP_LAB_INSTALL=0)"
  log "installing: ${missing[*]}"
  # Maintainer scripts must not start sshd on port 22 of the host: policy-rc.d exit 101 denies
  # every service start. Create one only for the install if the machine has none.
  local own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# vmbackup lab: temporary, deny service starts during apt-get\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d; own_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt_update_once
  # Not libvirt-daemon-system: it drags in systemd-sysv, polkit and iptables. We do by hand the
  # two things it would do for us (the libvirt-qemu user, a qemu.conf).
  apt_get install -y --no-install-recommends "${missing[@]}" >>"$LAB_DIR/logs/apt.log" 2>&1 \
    || { tail -20 "$LAB_DIR/logs/apt.log" >&2; die "apt-get install failed"; }
  if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
  log "packages installed"
}

# ---------------------------------------------------------------------------------------------
# Lab directory, subreaper, storage, ssh keys
# ---------------------------------------------------------------------------------------------

prepare_lab_dir() {
  mkdir -p "$LAB_DIR"/{pids,run,logs,ssh,bin,storage/backup,storage/small} "$LAB_CACHE"
  # down.sh refuses to delete a directory without this marker.
  [ -e "$LAB_DIR/.vmbackup-lab" ] || echo "vmbackup test lab, created $(date -Is)" > "$LAB_DIR/.vmbackup-lab"
  chmod 755 "$LAB_DIR"
}

start_reaper() {
  reaper_alive && return 0
  if ! command -v tini >/dev/null; then
    warn "tini not found: daemons get reaped by PID 1 (each VM destroy / daemon stop ~2 s slower)"
    return 0
  fi
  cp "$HERE/reaper.sh" "$LAB_DIR/bin/reaper.sh"   # the lab must not depend on the checkout staying put
  rm -f "$LAB_DIR/run/reaper.fifo"; mkfifo -m 600 "$LAB_DIR/run/reaper.fifo"
  # setsid: detach from our terminal/session so the reaper outlives this script.
  # shellcheck disable=SC2016   # expanded by the inner bash
  setsid bash -c 'echo $$ > "$1"; exec tini -s -- bash "$2" "$3" "$4" "$5"' reaper \
    "$LAB_DIR/run/reaper.started" "$LAB_DIR/bin/reaper.sh" "$LAB_DIR/run/reaper.fifo" "$LAB_DIR/run" \
    "$LAB_DIR/logs/spawn.log" </dev/null >>"$LAB_DIR/logs/reaper.log" 2>&1 9>&- &
  wait_until 5 bash -c "[ -s '$LAB_DIR/run/reaper.started' ] && [ \"\$(cat /proc/\$(cat '$LAB_DIR/run/reaper.started')/comm)\" = tini ]" \
    || die "tini subreaper did not start (see $LAB_DIR/logs/reaper.log)"
  record_pid "$(reaper_pidfile)" "$(cat "$LAB_DIR/run/reaper.started")"
  spawn true || die "the subreaper does not run commands"
  log "subreaper started (tini pid $(recorded_pid "$(reaper_pidfile)"))"
}

setup_storage() {
  local small=$LAB_DIR/storage/small
  # tmpfs rather than a loop device: nothing to allocate up front, works where /dev/loop* doesn't.
  if ! mountpoint -q "$small"; then
    mount -t tmpfs -o "size=${LAB_SMALL_MIB}m,mode=755" vmbackup-lab-small "$small"
    log "small storage: ${LAB_SMALL_MIB} MiB tmpfs on $small"
  fi
}

setup_ssh_keys() {
  local s=$LAB_DIR/ssh h
  [ -e "$s/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C vmbackup-lab -f "$s/id_ed25519"
  install -m 600 "$s/id_ed25519.pub" "$s/authorized_keys"
  for h in $(lab_host_names); do
    [ -e "$s/host_$h" ] || ssh-keygen -q -t ed25519 -N '' -C "vmbackup-lab-$h" -f "$s/host_$h"
  done
  # known_hosts: every lab host key under the exact name ssh looks up ([addr]:port unless port 22).
  : > "$s/known_hosts.tmp"
  for h in $(lab_host_names); do
    local name; name=$(host_addr "$h")
    [ "$(host_ssh_port "$h")" = 22 ] || name="[$name]:$(host_ssh_port "$h")"
    echo "$name $(cut -d' ' -f1,2 "$s/host_$h.pub")" >> "$s/known_hosts.tmp"
  done
  mv "$s/known_hosts.tmp" "$s/known_hosts"
  # An ssh_config with one alias per host, for humans and scripts: ssh -F $LAB_SSH_CONFIG hv1 ...
  {
    for h in $(lab_host_names); do
      printf 'Host %s\n  HostName %s\n  Port %s\n' "$h" "$(host_addr "$h")" "$(host_ssh_port "$h")"
    done
    printf 'Host *\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n  BatchMode yes\n' "$s/id_ed25519"
    printf '  StrictHostKeyChecking yes\n  UserKnownHostsFile %s\n  GlobalKnownHostsFile /dev/null\n' "$s/known_hosts"
    printf '  ConnectTimeout 5\n  LogLevel ERROR\n'
  } > "$s/config"
}

# ---------------------------------------------------------------------------------------------
# libvirtd per host
# ---------------------------------------------------------------------------------------------

# libvirt's qemu driver resolves its compiled-in default user before reading qemu.conf and
# refuses to start without it (libvirt-daemon-system would have created it).
ensure_libvirt_user() {
  getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
  getent passwd libvirt-qemu >/dev/null \
    || useradd --system -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
  # Mount points for the per-host bind mounts (the packages do not create the log dir).
  mkdir -p /var/log/libvirt /var/lib/libvirt /var/cache/libvirt /etc/libvirt
}

# Each lab libvirtd runs in its own mount namespace with /etc/libvirt, /var/lib/libvirt,
# /var/log/libvirt and /var/cache/libvirt bound from $LAB_DIR/hosts/<host>, so the lab never edits
# the machine's /etc/libvirt and down.sh leaves nothing behind. The local one keeps the real /run
# (its socket must be the machine's qemu:///system); a hvN one gets a private /run (its own
# socket), its own hostname, and /mnt/backup{,-small} bound to the lab storage, like an NFS mount.
write_host_config() {
  local h=$1 d; d=$(host_dir "$h")
  mkdir -p "$d"/{etc,lib,log,cache/qemu/capabilities,run,pids}
  if [ "$h" = local ]; then mkdir -p "$d/images"; else mkdir -p "$d/lib/images"; fi
  [ "$h" = local ] || printf '127.0.0.1\tlocalhost\n%s\t%s\n%s\tlab-host\n' \
    "$(host_addr "$h")" "$h" "$LAB_NET_HOST_ADDR" > "$d/hosts"
  cat > "$d/etc/qemu.conf" <<'EOF'
# vmbackup lab. Domains run as root: no libvirt-qemu permissions to manage on lab files.
user = "root"
group = "root"
# swtpm too: swtpm_setup's local CA (/var/lib/swtpm-localca) is shared by every lab libvirtd, and
# whichever user made it first owns its lock; as the default "tss" a vTPM VM's first start then
# fails ("Need read/write rights on /var/lib/swtpm-localca/.lock.swtpm-localca for user tss").
swtpm_user = "root"
swtpm_group = "root"
# Every lab libvirtd shares one cgroup tree; per-domain cgroups of two daemons could collide.
cgroup_controllers = [ ]
EOF
  # Reuse the capability cache of an earlier run: the first probe costs 1.5-8 s per daemon.
  if [ -d "$LAB_CACHE/libvirt-capabilities" ]; then
    cp -n "$LAB_CACHE"/libvirt-capabilities/*.xml "$d/cache/qemu/capabilities/" 2>/dev/null || true
  fi
  {
    echo '#!/bin/bash'
    echo "# Generated by test/lab/up.sh: starts the lab's libvirt daemons for host '$h'."
    echo 'set -euo pipefail'
    if [ "$h" != local ]; then
      echo "hostname $h"
      echo "mount --bind $d/hosts /etc/hosts    # resolves its own name without DNS (there is none here)"
      echo 'mount -t tmpfs -o mode=755,size=32m lab-run /run'
      echo 'mkdir -p /run/sshd /run/lock /run/libvirt'
      echo 'mount -t tmpfs -o mode=755,size=1m lab-mnt /mnt'
      echo "mkdir -p $LAB_REMOTE_STORAGE $LAB_REMOTE_SMALL_STORAGE"
      echo "mount --bind $LAB_DIR/storage/backup $LAB_REMOTE_STORAGE"
      echo "mount --bind $LAB_DIR/storage/small $LAB_REMOTE_SMALL_STORAGE"
    fi
    echo "mount --bind $d/etc /etc/libvirt"
    echo "mount --bind $d/lib /var/lib/libvirt"
    echo "mount --bind $d/log /var/log/libvirt"
    echo "mount --bind $d/cache /var/cache/libvirt"
    echo '# Arguments: the daemons to start (the local virtlogd may have outlived its libvirtd).'
    echo 'for daemon in "$@"; do'
    echo "  \"\$daemon\" -d"
    echo "  cp /run/\$daemon.pid $d/run/"
    echo 'done'
  } > "$d/start-libvirt.sh"
  chmod 755 "$d/start-libvirt.sh"
}

# A hvN whose libvirtd died cannot be patched up: its sshd and VMs live on in the old mount
# namespace (with the old private /run), which a new libvirtd cannot see. Stop what is left;
# the VMs are started again from their definitions in $LAB_DIR/hosts/hvN/etc.
reset_hv() {
  local d f said=0; d=$(host_dir "$1")
  for f in "$d"/pids/*.pid; do
    [ -e "$f" ] || continue
    if [ $said = 0 ] && recorded_pid "$f" >/dev/null; then
      log "$1: libvirtd is gone, stopping the rest of the host"; said=1
    fi
    stop_recorded "$f"
  done
}

# The host's libvirtd may already run (a developer's machine): then the lab uses it as it is.
LOCAL_LIBVIRTD_OWNED=1
start_libvirtd() {
  local h=$1 d pid; d=$(host_dir "$h")
  if recorded_pid "$d/pids/libvirtd.pid" >/dev/null; then return 0; fi
  if [ "$h" = local ] && [ -S /run/libvirt/libvirt-sock ] && virsh -q -c qemu:///system uri >/dev/null 2>&1; then
    LOCAL_LIBVIRTD_OWNED=0
    log "local: using the libvirtd that is already running (not started by the lab)"
    return 0
  fi
  if [ "$h" != local ]; then reset_hv "$h"; fi
  write_host_config "$h"
  local daemons="virtlogd libvirtd" daemon
  recorded_pid "$d/pids/virtlogd.pid" >/dev/null && daemons=libvirtd
  rm -f "$d/run/libvirtd.pid" "$d/run/virtlogd.pid"
  if [ "$h" = local ]; then
    spawn "unshare --mount --propagation slave $d/start-libvirt.sh $daemons" \
      || die "local: libvirt start failed (see $LAB_DIR/logs/spawn.log)"
  else
    spawn "ip netns exec $(hv_netns "$h") unshare --mount --uts --propagation slave $d/start-libvirt.sh $daemons" \
      || die "$h: libvirt start failed (see $LAB_DIR/logs/spawn.log)"
  fi
  for daemon in $daemons; do
    record_pid "$d/pids/$daemon.pid" "$(cat "$d/run/$daemon.pid")" || die "$h: $daemon died (see $d/log/$daemon.log)"
  done
  # The first connection probes qemu capabilities (cached in $d/cache afterwards).
  wait_until 60 host_virsh "$h" uri || die "$h: libvirtd does not answer (see $d/log/libvirtd.log)"
  log "$h: libvirtd running (pid $(recorded_pid "$d/pids/libvirtd.pid"))"
}

# The local libvirtd sees $LAB_DIR/hosts/local/lib as /var/lib/libvirt (its own mount namespace),
# so a UEFI VM's NVRAM (/var/lib/libvirt/qemu/nvram/<vm>_VARS.fd) and a vTPM's state
# (/var/lib/libvirt/swtpm/<uuid>) are there. Show the test runner (and the local sshd) the same
# directory at the same path, as on a real hypervisor: a check that /var/lib/libvirt holds no
# files (empty directories only) first, then one bind mount, undone by down.sh. Not done for a libvirtd the lab
# did not start (its /var/lib/libvirt is already the real one).
share_local_var_lib() {
  [ "$LOCAL_LIBVIRTD_OWNED" = 1 ] || return 0
  local d; d=$(host_dir local)/lib
  if mountpoint -q /var/lib/libvirt; then
    [ "$(findmnt -n -o FSROOT --mountpoint /var/lib/libvirt)" = "$d" ] || [ "$(stat -c %d:%i /var/lib/libvirt)" = "$(stat -c %d:%i "$d")" ] \
      || die "/var/lib/libvirt is a mount point that is not the lab's $d"
    return 0
  fi
  # Packages may have made empty directories there; files would be someone's libvirt state.
  [ -z "$(find /var/lib/libvirt -mindepth 1 ! -type d -print -quit 2>/dev/null)" ] \
    || die "/var/lib/libvirt holds files: the lab will not hide them (it bind-mounts $d there)"
  mkdir -p /var/lib/libvirt
  mount --bind "$d" /var/lib/libvirt
  log "local: $d bind-mounted on /var/lib/libvirt (NVRAM and swtpm state at their standard paths)"
}

# Keep the capabilities the lab libvirtds probed (lazily, at the first define) for the next up.
save_capabilities() {
  local f
  for f in "$LAB_DIR"/hosts/*/cache/qemu/capabilities/*.xml; do
    [ -e "$f" ] || continue
    mkdir -p "$LAB_CACHE/libvirt-capabilities"
    cp -u "$f" "$LAB_CACHE/libvirt-capabilities/"
  done
}

# ---------------------------------------------------------------------------------------------
# Network namespaces and sshd
# ---------------------------------------------------------------------------------------------

setup_netns() {
  local h=$1 ns veth addr; ns=$(hv_netns "$h"); veth=$ns; addr=$(hv_addr "$h")
  ip netns list | grep -qx "$ns\( .*\)\?" && ip link show "$veth" >/dev/null 2>&1 && return 0
  # A half-removed earlier lab (down.sh interrupted) may have left either half.
  ip link del "$veth" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  ip netns add "$ns"
  ip link add "$veth" type veth peer name "$veth-n"
  ip link set "$veth-n" netns "$ns"
  ip -n "$ns" link set "$veth-n" name eth0
  # Point-to-point /32s: the host reaches exactly this address through exactly this veth.
  ip addr add "$LAB_NET_HOST_ADDR/32" peer "$addr/32" dev "$veth"
  ip link set "$veth" up
  ip -n "$ns" addr add "$addr/32" peer "$LAB_NET_HOST_ADDR/32" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  log "$h: netns $ns, address $addr"
}

write_sshd_config() {
  local h=$1 d s=$LAB_DIR/ssh; d=$(host_dir "$h")
  cat > "$d/sshd_config" <<EOF
# vmbackup lab sshd for host '$h': root login with the lab key only.
ListenAddress $(host_addr "$h")
Port $(host_ssh_port "$h")
HostKey $s/host_$h
PidFile $d/run/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
# No PAM: there is no systemd/logind here and key login needs none of it.
UsePAM no
AuthorizedKeysFile $s/authorized_keys
# The lab key files live under /var/tmp, which StrictModes would reject.
StrictModes no
# Tests open many sessions in a row; do not throttle them.
MaxStartups 100:30:200
MaxSessions 50
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
  mkdir -p /run/sshd    # privilege-separation dir (normally made by the service unit); -t wants it too
  /usr/sbin/sshd -t -f "$d/sshd_config" || die "$h: invalid sshd config"
}

start_sshd() {
  local h=$1 d; d=$(host_dir "$h")
  mkdir -p "$d"/{run,pids}
  write_sshd_config "$h"
  recorded_pid "$d/pids/sshd.pid" >/dev/null && return 0
  rm -f "$d/run/sshd.pid"
  if [ "$h" = local ]; then
    spawn "/usr/sbin/sshd -f $d/sshd_config -E $LAB_DIR/logs/sshd-$h.log" || die "local: sshd failed"
  else
    local lpid; lpid=$(recorded_pid "$d/pids/libvirtd.pid")
    spawn "nsenter --target $lpid --mount --net --uts /usr/sbin/sshd -f $d/sshd_config -E $LAB_DIR/logs/sshd-$h.log" \
      || die "$h: sshd failed (see $LAB_DIR/logs/sshd-$h.log)"
  fi
  wait_until 5 test -s "$d/run/sshd.pid" || die "$h: sshd wrote no pid file"
  record_pid "$d/pids/sshd.pid" "$(cat "$d/run/sshd.pid")"
  log "$h: sshd on $(host_addr "$h"):$(host_ssh_port "$h")"
}

# ---------------------------------------------------------------------------------------------
# Agent VM kit: Debian cloud kernel + initramfs with static busybox and the real qemu-ga.
# Built once into $LAB_CACHE/agent-kit (about 5 s); rebuilt when guest-init.sh changes.
# ---------------------------------------------------------------------------------------------

KIT=$LAB_CACHE/agent-kit
build_agent_kit() {
  local want; want=$(sha256sum "$HERE/guest-init.sh" | cut -c1-16)
  if [ -s "$KIT/vmlinuz" ] && [ -s "$KIT/initrd.gz" ] && [ "$(cat "$KIT/init.sha" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  [ "$LAB_INSTALL" = 1 ] || die "agent VM kit missing in $KIT and VMBACKUP_LAB_INSTALL=0"
  apt_update_once
  local kpkg p deb x r kver m f
  # The versioned cloud kernel the meta-package points at (cloud: few modules, boots fast).
  kpkg=$(apt-cache depends linux-image-cloud-amd64 | sed -n 's/.*Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -1)
  [ -n "$kpkg" ] || die "cannot resolve linux-image-cloud-amd64 (apt lists?)"
  mkdir -p "$LAB_CACHE/debs"
  for p in "$kpkg" "${LAB_GUEST_PACKAGES[@]}"; do
    ls "$LAB_CACHE/debs/${p}_"*.deb >/dev/null 2>&1 && continue
    ( cd "$LAB_CACHE/debs" && apt_get download "$p" >>"$LAB_DIR/logs/apt.log" 2>&1 ) || die "apt-get download $p failed"
  done
  x=$(mktemp -d "$LAB_CACHE/kit-build.XXXXXX"); r=$x/root
  for p in "$kpkg" "${LAB_GUEST_PACKAGES[@]}"; do
    deb=$(find "$LAB_CACHE/debs" -name "${p}_*.deb" | sort -V | tail -1)
    dpkg-deb -x "$deb" "$x/pkg"
  done
  kver=$(find "$x/pkg/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | head -1)
  mkdir -p "$r"/{bin,usr/sbin,lib/modules,proc,sys,dev,mnt/data,run,tmp}
  cp "$x/pkg/bin/busybox" "$r/bin/busybox"
  cp "$x/pkg/usr/sbin/qemu-ga" "$r/usr/sbin/qemu-ga"
  # qemu-ga is dynamic: copy the loader and its libraries (same Debian release as the host).
  if ldd "$x/pkg/usr/sbin/qemu-ga" | grep -q 'not found'; then
    ldd "$x/pkg/usr/sbin/qemu-ga" >&2; die "libraries of qemu-ga missing on this machine"
  fi
  for f in $(ldd "$x/pkg/usr/sbin/qemu-ga" | grep -oE '/[^ ]+\.so[^ ]*'); do
    mkdir -p "$r$(dirname "$f")"; cp -L "$f" "$r$f"
  done
  for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk virtio_console; do
    f=$(find "$x/pkg/lib/modules/$kver" -name "$m.ko*" | head -1)
    [ -n "$f" ] || die "kernel module $m not in $kpkg"
    case $f in
      *.xz) xz -dc "$f" > "$r/lib/modules/$m.ko" ;;
      *.zst) zstd -qdc "$f" > "$r/lib/modules/$m.ko" ;;
      *) cp "$f" "$r/lib/modules/$m.ko" ;;
    esac
  done
  install -m 755 "$HERE/guest-init.sh" "$r/init"
  # No cpio on the base image: the guest's static busybox has one.
  ( cd "$r" && find . | "$r/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1 ) > "$x/initrd.gz"
  mkdir -p "$KIT"
  mv "$x/initrd.gz" "$KIT/initrd.gz"
  cp "$x/pkg/boot/vmlinuz-$kver" "$KIT/vmlinuz"
  echo "$kver" > "$KIT/kernel.version"
  echo "$want" > "$KIT/init.sha"
  rm -rf "$x"
  log "agent VM kit built (kernel $kver)"
}

# ---------------------------------------------------------------------------------------------
# VMs
# ---------------------------------------------------------------------------------------------

# make_disk VM TARGET MIB CONTENT: create the image (as the test runner sees it) once.
make_disk() {
  local vm=$1 t=$2 mib=$3 content=$4 f; f=$(lab_disk_path "$vm" "$t")
  [ -e "$f" ] && return 0
  mkdir -p "$(dirname "$f")"
  if [ "$content" = ext4 ]; then
    # A real filesystem for the agent to freeze, with a few files tests can look for.
    local fs; fs=$(mktemp -d)
    echo "hello from $vm" > "$fs/hello.txt"
    head -c 1048576 /dev/urandom > "$fs/random.bin"
    mkfs.ext4 -q -F -L labdata -d "$fs" "$f.raw" "${mib}M" >/dev/null
    qemu-img convert -q -f raw -O qcow2 "$f.raw" "$f.tmp"
    rm -rf "$fs" "$f.raw"
  else
    local spec byte off len cmds=()
    qemu-img create -q -f qcow2 "$f.tmp" "${mib}M"
    for spec in ${PATTERN[$content]}; do
      IFS=: read -r byte off len <<<"$spec"
      cmds+=(-c "write -q -P $byte $off $len")
    done
    qemu-io "${cmds[@]}" "$f.tmp" >/dev/null
  fi
  mv "$f.tmp" "$f"
}

# domain_xml VM VIRT_TYPE: the libvirt XML, kept close to what virt-install makes on RHEL.
domain_xml() {
  local vm=$1 type=$2 spec t mib content mac net tap
  echo "<domain type='$type'>"
  echo "  <name>$vm</name>"
  echo "  <memory unit='MiB'>${VM_MEM[$vm]}</memory>"
  echo "  <vcpu>1</vcpu>"
  echo "  <os>"
  if [ "${VM_FW[$vm]:-bios}" = uefi ]; then
    # libvirt copies the template to /var/lib/libvirt/qemu/nvram/<vm>_VARS.fd at the first start.
    echo "    <type arch='x86_64' machine='q35'>hvm</type>"
    echo "    <loader readonly='yes' type='pflash'>$LAB_OVMF_CODE</loader>"
    echo "    <nvram template='$LAB_OVMF_VARS'/>"
  else
    echo "    <type arch='x86_64' machine='pc'>hvm</type>"
  fi
  if [ "${VM_OS[$vm]}" = linux ]; then
    echo "    <kernel>$(host_dir local)/boot/vmlinuz</kernel>"
    echo "    <initrd>$(host_dir local)/boot/initrd.gz</initrd>"
    echo "    <cmdline>console=ttyS0 quiet panic=-1</cmdline>"
  else
    echo "    <boot dev='hd'/>"
  fi
  echo "  </os>"
  echo "  <features><acpi/>"
  # TCG reserves a 1 GiB translation cache by default; 32 MiB is plenty for these guests.
  [ "$type" = qemu ] && echo "    <tcg><tb-cache unit='MiB'>32</tb-cache></tcg>"
  echo "  </features>"
  echo "  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>"
  echo "  <devices>"
  echo "    <emulator>/usr/bin/qemu-system-x86_64</emulator>"
  for spec in ${VM_DISKSPEC[$vm]}; do
    IFS=: read -r t mib content <<<"$spec"
    echo "    <disk type='file' device='disk'>"
    echo "      <driver name='qemu' type='qcow2'/>"
    echo "      <source file='$(disk_path "$vm" "$t")'/>"
    echo "      <target dev='$t' bus='virtio'/>"
    echo "    </disk>"
  done
  for spec in ${VM_NICS[$vm]:-}; do
    IFS=@ read -r mac net tap <<<"$spec"
    # No option ROM: SeaBIOS would otherwise netboot iPXE on it and spin under TCG.
    echo "    <interface type='network'><mac address='$mac'/><source network='$net'/>${tap:+<target dev='$tap'/>}<model type='virtio'/><rom enabled='no'/></interface>"
  done
  if [ "${VM_AGENT[$vm]}" != none ]; then
    echo "    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
  fi
  if [ "${VM_OS[$vm]}" = linux ]; then
    echo "    <serial type='file'><source path='$(host_dir "${VM_HOST[$vm]}")/log/$vm-console.log'/></serial>"
  fi
  if [ -n "${VM_TPM[$vm]:-}" ]; then
    # libvirt runs swtpm with its state in /var/lib/libvirt/swtpm/<uuid>/tpm2 (made at first start).
    echo "    <tpm model='tpm-crb'><backend type='emulator' version='${VM_TPM[$vm]}'/></tpm>"
  fi
  if [ "${VM_FW[$vm]:-bios}" = uefi ]; then
    # OVMF writes its console (the UEFI shell) to the serial port and to the screen.
    echo "    <serial type='pty'/>"
    echo "    <graphics type='vnc' autoport='yes' listen='127.0.0.1'/><video><model type='vga'/></video>"
  fi
  echo "    <memballoon model='none'/>"
  echo "  </devices>"
  echo "</domain>"
}

# ensure_vm VM: create disks, define and (if wanted) start it. Sets VM_TYPE[VM].
KVM_OK=""   # decided by the first OS-less VM when LAB_VIRT_TYPE=auto
AGENT_STARTED_AT=""
ensure_vm() {
  local vm=$1 h=${VM_HOST[$1]} spec t mib content types type xml
  for spec in ${VM_DISKSPEC[$vm]}; do IFS=: read -r t mib content <<<"$spec"; make_disk "$vm" "$t" "$mib" "$content"; done
  if [ "${VM_OS[$vm]}" = linux ]; then
    mkdir -p "$(host_dir local)/boot"
    cp -u "$KIT/vmlinuz" "$KIT/initrd.gz" "$(host_dir local)/boot/"
  fi
  local state
  if state=$(host_virsh "$h" domstate "$vm" 2>/dev/null); then
    VM_TYPE[$vm]=$(host_virsh "$h" dumpxml "$vm" | sed -n "1s/.*type='\([a-z]*\)'.*/\1/p")
    if [ "${VM_STATE[$vm]}" = running ] && [ "$state" != running ]; then
      host_virsh "$h" start "$vm" >/dev/null || die "$h: cannot start $vm"
      [ "${VM_AGENT[$vm]}" = live ] && AGENT_STARTED_AT=$(date +%s.%N)
      log "$h: $vm started again"
    fi
    return 0
  fi
  # Which accelerator: Linux guests hang under this machine's kvm_pvm, OS-less ones are fine.
  if [ "${VM_OS[$vm]}" = linux ]; then types=$LAB_AGENT_VIRT_TYPE
  elif [ "$LAB_VIRT_TYPE" != auto ]; then types=$LAB_VIRT_TYPE
  elif [ -n "$KVM_OK" ]; then types=$KVM_OK
  elif [ -c /dev/kvm ]; then types="kvm qemu"
  else types=qemu; fi
  xml=$(host_dir "$h")/$vm.xml
  for type in $types; do
    domain_xml "$vm" "$type" > "$xml"
    host_virsh "$h" define "$xml" >/dev/null || die "$h: cannot define $vm"
    if [ "${VM_STATE[$vm]}" != running ]; then VM_TYPE[$vm]=$type; break; fi
    if host_virsh "$h" start "$vm" >/dev/null 2>"$LAB_DIR/logs/start-$vm-$type.err"; then
      rm -f "$LAB_DIR/logs/start-$vm-$type.err"
      VM_TYPE[$vm]=$type
      [ "${VM_AGENT[$vm]}" = live ] && AGENT_STARTED_AT=$(date +%s.%N)
      break
    fi
    host_virsh "$h" undefine "$vm" >/dev/null 2>&1 || true
  done
  [ -n "${VM_TYPE[$vm]:-}" ] || { cat "$LAB_DIR"/logs/start-"$vm"-*.err >&2; die "$h: $vm does not start"; }
  [ "${VM_OS[$vm]}" = none ] && [ "$LAB_VIRT_TYPE" = auto ] && [ "${VM_STATE[$vm]}" = running ] && KVM_OK=${VM_TYPE[$vm]}
  log "$h: $vm defined (${VM_STATE[$vm]}, type ${VM_TYPE[$vm]})"
}

# Record qemu PIDs so down.sh can still stop a VM whose libvirtd died.
record_qemu_pids() {
  local vm h pid
  for vm in "${VMS[@]}"; do
    h=${VM_HOST[$vm]}
    [ "${VM_STATE[$vm]}" = running ] || continue
    recorded_pid "$(host_dir "$h")/pids/qemu-$vm.pid" >/dev/null && continue
    pid=$(host_exec "$h" cat "/run/libvirt/qemu/$vm.pid" 2>/dev/null) || continue
    record_pid "$(host_dir "$h")/pids/qemu-$vm.pid" "$pid" || true
  done
}

AGENT_BOOT_SECONDS=""
wait_for_agent() {
  [ -n "$ROLE_AGENT" ] || return 0
  wait_until 120 host_virsh local qemu-agent-command "$ROLE_AGENT" '{"execute":"guest-ping"}' \
    || die "$ROLE_AGENT: guest agent did not answer within 120 s (console: $(host_dir local)/log/$ROLE_AGENT-console.log)"
  if [ -n "$AGENT_STARTED_AT" ]; then
    AGENT_BOOT_SECONDS=$(awk -v a="$(date +%s.%N)" -v b="$AGENT_STARTED_AT" 'BEGIN { printf "%.1f", a - b }')
    log "$ROLE_AGENT: guest agent answers, ${AGENT_BOOT_SECONDS} s after start"
    echo "$AGENT_BOOT_SECONDS" > "$LAB_DIR/run/agent-boot-seconds"
  else
    AGENT_BOOT_SECONDS=$(cat "$LAB_DIR/run/agent-boot-seconds" 2>/dev/null || echo "")
    log "$ROLE_AGENT: guest agent answers"
  fi
}

# ---------------------------------------------------------------------------------------------
# lab.env and lab.json: the same facts, for shell and for Node.
# ---------------------------------------------------------------------------------------------

key_of() { echo "$1" | tr 'a-z-' 'A-Z_'; }   # hv1 -> HV1, lab-noos -> LAB_NOOS

# Values are single-quoted so that `set -a; . lab.env` is safe; none may contain a quote.
ENV_TMP=""
kv() {
  case $2 in *"'"*) die "lab.env value for $1 contains a quote: $2" ;; esac
  printf "%s='%s'\n" "$1" "$2" >> "$ENV_TMP"
}

vm_nic_field() { # vm_nic_field VM 1|2|3: the NICs' MACs, networks or tap names ('-': libvirt's choice)
  local s f out=(); for s in ${VM_NICS[$1]:-}; do f=$(cut -d@ -f"$2" <<<"$s"); out+=("${f:--}"); done; echo "${out[*]}"
}
vm_targets() { local s out=(); for s in ${VM_DISKSPEC[$1]}; do out+=("${s%%:*}"); done; echo "${out[*]}"; }
host_vms() { local vm out=(); for vm in "${VMS[@]}"; do [ "${VM_HOST[$vm]}" = "$1" ] && out+=("$vm"); done; echo "${out[*]}"; }
host_storage() { if [ "$1" = local ]; then echo "$LAB_DIR/storage/$2"; elif [ "$2" = backup ]; then echo "$LAB_REMOTE_STORAGE"; else echo "$LAB_REMOTE_SMALL_STORAGE"; fi; }
host_images_dir() { if [ "$1" = local ]; then echo "$(host_dir local)/images"; else echo /var/lib/libvirt/images; fi; }
lab_images_dir() { if [ "$1" = local ]; then echo "$(host_dir local)/images"; else echo "$(host_dir "$1")/lib/images"; fi; }
host_exec_prefix() {
  if [ "$1" = local ]; then echo ""
  else echo "nsenter --target $(recorded_pid "$(host_dir "$1")/pids/libvirtd.pid" || echo 0) --mount --net --uts"; fi
}
remote_uri() {
  local s=$LAB_DIR/ssh
  echo "qemu+libssh://root@$(host_addr "$1"):$(host_ssh_port "$1")/system?keyfile=$s/id_ed25519&known_hosts=$s/known_hosts&known_hosts_verify=normal&sshauth=privkey"
}
vm_nvram() { [ "${VM_FW[$1]:-bios}" = uefi ] && echo "/var/lib/libvirt/qemu/nvram/${1}_VARS.fd"; return 0; }
vm_lab_nvram() {
  [ "${VM_FW[$1]:-bios}" = uefi ] || return 0
  if [ "${VM_HOST[$1]}" = local ] && [ "$LOCAL_LIBVIRTD_OWNED" = 0 ]; then vm_nvram "$1"
  else echo "$(host_dir "${VM_HOST[$1]}")/lib/qemu/nvram/${1}_VARS.fd"; fi
}
# UEFI/TPM VMs are opt-in for policies built from lab.json (older tests count the others).
vm_opt_in() { if [ "${VM_FW[$1]:-bios}" = uefi ] || [ -n "${VM_TPM[$1]:-}" ]; then echo 1; else echo 0; fi; }
pattern_of() { local spec; for spec in ${VM_DISKSPEC[$1]}; do [ "${spec%%:*}" = "$2" ] || continue; spec=${spec##*:}; echo "${PATTERN[$spec]:-}"; done; }
size_of() { local spec mib; for spec in ${VM_DISKSPEC[$1]}; do [ "${spec%%:*}" = "$2" ] || continue; mib=${spec#*:}; mib=${mib%%:*}; echo $((mib * 1048576)); done; }

write_lab_env() {
  local h H vm V t paths labpaths
  ENV_TMP=$LAB_DIR/lab.env.tmp; : > "$ENV_TMP"
  {
    echo "# vmbackup test lab, written by test/lab/up.sh at $(date -Is). Load with: set -a; . lab.env; set +a"
    echo "# Paths named *_LAB_* are as seen on this machine (the test runner); all others are as the"
    echo "# hypervisor named in the key sees them (run commands there through ssh)."
  } >> "$ENV_TMP"
  kv LAB_VERSION 1
  kv LAB_DIR "$LAB_DIR"
  kv LAB_SSH_USER root
  kv LAB_SSH_KEY "$LAB_DIR/ssh/id_ed25519"
  kv LAB_SSH_PUBKEY "$LAB_DIR/ssh/id_ed25519.pub"
  kv LAB_SSH_KNOWN_HOSTS "$LAB_DIR/ssh/known_hosts"
  kv LAB_SSH_CONFIG "$LAB_DIR/ssh/config"
  kv LAB_SSH_OPTS "$(lab_ssh_opts | tr '\n' ' ' | sed 's/ $//')"
  kv LAB_STORAGE_DIR "$LAB_DIR/storage/backup"
  kv LAB_SMALL_STORAGE_DIR "$LAB_DIR/storage/small"
  kv LAB_SMALL_STORAGE_BYTES $((LAB_SMALL_MIB * 1048576))
  kv LAB_REMOTE_STORAGE_DIR "$LAB_REMOTE_STORAGE"
  kv LAB_REMOTE_SMALL_STORAGE_DIR "$LAB_REMOTE_SMALL_STORAGE"
  kv LAB_KVM "$([ "${VM_TYPE[$ROLE_NOOS]}" = kvm ] && echo 1 || echo 0)"
  kv LAB_AGENT_BOOT_SECONDS "$AGENT_BOOT_SECONDS"
  kv LAB_HOSTS "$(lab_host_names | tr '\n' ' ' | sed 's/ $//')"
  kv LAB_HVS "$(lab_hv_names | tr '\n' ' ' | sed 's/ $//')"
  kv LAB_VMS "${VMS[*]}"
  kv LAB_VM_NOOS "$ROLE_NOOS"
  kv LAB_VM_AGENT "$ROLE_AGENT"
  kv LAB_VM_DEAD_AGENT "$ROLE_DEAD_AGENT"
  kv LAB_VM_NO_CHANNEL "$ROLE_NO_CHANNEL"
  kv LAB_VM_MULTIDISK "$ROLE_MULTIDISK"
  kv LAB_VM_BIG "$ROLE_BIG"
  kv LAB_VM_OFFLINE "$ROLE_OFFLINE"
  kv LAB_VM_NET "$ROLE_NET"
  kv LAB_VM_UEFI "$ROLE_UEFI"
  kv LAB_VM_TPM "$ROLE_TPM"
  kv LAB_NET_PROD "$(network_by_role prod)"
  kv LAB_NET_ISOLATED "$(network_by_role isolated)"
  kv LAB_NETWORKS "$(lab_network_names | tr '\n' ' ' | sed 's/ $//')"
  local n N
  for n in $(lab_network_names); do
    N=LAB_NETWORK_$(key_of "$n")
    kv "${N}_NAME" "$n"
    kv "${N}_HOST" "$LAB_NETWORK_HOST"
    kv "${N}_BRIDGE" "$(network_bridge "$n")"
    kv "${N}_ROLE" "$(network_role "$n")"
  done
  for h in $(lab_host_names); do
    H=LAB_HOST_$(key_of "$h")
    kv "${H}_NAME" "$h"
    kv "${H}_TRANSPORT" "$([ "$h" = local ] && echo local || echo ssh)"
    kv "${H}_ADDRESS" "$(host_addr "$h")"
    kv "${H}_SSH_PORT" "$(host_ssh_port "$h")"
    kv "${H}_LIBVIRT_URI" "qemu:///system"
    kv "${H}_REMOTE_URI" "$(remote_uri "$h")"
    kv "${H}_NETNS" "$([ "$h" = local ] || hv_netns "$h")"
    kv "${H}_EXEC" "$(host_exec_prefix "$h")"
    kv "${H}_VMS" "$(host_vms "$h")"
    kv "${H}_STORAGE_ROOT" "$(host_storage "$h" backup)"
    kv "${H}_SMALL_STORAGE_ROOT" "$(host_storage "$h" small)"
    kv "${H}_IMAGES_DIR" "$(host_images_dir "$h")"
    kv "${H}_LAB_IMAGES_DIR" "$(lab_images_dir "$h")"
    kv "${H}_LAB_LOG_DIR" "$(host_dir "$h")/log"
    kv "${H}_LIBVIRTD_OWNED" "$([ "$h" != local ] || [ "$LOCAL_LIBVIRTD_OWNED" = 1 ] && echo 1 || echo 0)"
  done
  for vm in "${VMS[@]}"; do
    V=LAB_VM_$(key_of "$vm")
    paths=() labpaths=()
    for t in $(vm_targets "$vm"); do paths+=("$(disk_path "$vm" "$t")"); labpaths+=("$(lab_disk_path "$vm" "$t")"); done
    kv "${V}_NAME" "$vm"
    kv "${V}_HOST" "${VM_HOST[$vm]}"
    kv "${V}_STATE" "${VM_STATE[$vm]}"
    kv "${V}_VIRT_TYPE" "${VM_TYPE[$vm]}"
    kv "${V}_OS" "${VM_OS[$vm]}"
    kv "${V}_AGENT" "${VM_AGENT[$vm]}"
    kv "${V}_MEMORY_MIB" "${VM_MEM[$vm]}"
    kv "${V}_TARGETS" "$(vm_targets "$vm")"
    kv "${V}_DISKS" "${paths[*]}"
    kv "${V}_LAB_DISKS" "${labpaths[*]}"
    kv "${V}_MACS" "$(vm_nic_field "$vm" 1)"
    kv "${V}_NETWORKS" "$(vm_nic_field "$vm" 2)"
    kv "${V}_NIC_TAPS" "$(vm_nic_field "$vm" 3)"
    kv "${V}_FIRMWARE" "${VM_FW[$vm]:-bios}"
    kv "${V}_NVRAM" "$(vm_nvram "$vm")"
    kv "${V}_LAB_NVRAM" "$(vm_lab_nvram "$vm")"
    kv "${V}_TPM" "${VM_TPM[$vm]:-}"                       # TPM version ('' = none); model tpm-crb, backend emulator
    kv "${V}_UUID" "$(host_virsh "${VM_HOST[$vm]}" domuuid "$vm" | tr -d '[:space:]')"
    kv "${V}_OPT_IN" "$(vm_opt_in "$vm")"
    for t in $(vm_targets "$vm"); do
      kv "${V}_$(key_of "$t")_PATTERN" "$(pattern_of "$vm" "$t")"
      kv "${V}_$(key_of "$t")_VIRTUAL_BYTES" "$(size_of "$vm" "$t")"
    done
  done
  mv "$ENV_TMP" "$LAB_DIR/lab.env"
}

# Minimal JSON writer: every string we emit is a name, number or path we made ourselves.
js() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
js_list() { local first=1 x; printf '['; for x in "$@"; do [ $first = 1 ] || printf ', '; first=0; js "$x"; done; printf ']'; }
js_or_null() { if [ -n "$1" ]; then js "$1"; else printf null; fi; }

write_lab_json() {
  local h vm t n first spec byte off len o=$LAB_DIR/lab.json.tmp opts=() nic nf mac net tap
  mapfile -t opts < <(lab_ssh_opts)
  {
    printf '{\n  "version": 1,\n  "labDir": %s,\n  "createdAt": %s,\n' "$(js "$LAB_DIR")" "$(js "$(date -Is)")"
    printf '  "kvm": %s,\n' "$([ "${VM_TYPE[$ROLE_NOOS]}" = kvm ] && echo true || echo false)"
    printf '  "agentBootSeconds": %s,\n' "${AGENT_BOOT_SECONDS:-null}"
    printf '  "ssh": {"user": "root", "key": %s, "publicKey": %s, "knownHosts": %s, "config": %s, "options": %s},\n' \
      "$(js "$LAB_DIR/ssh/id_ed25519")" "$(js "$LAB_DIR/ssh/id_ed25519.pub")" "$(js "$LAB_DIR/ssh/known_hosts")" \
      "$(js "$LAB_DIR/ssh/config")" "$(js_list "${opts[@]}")"
    printf '  "storage": {"dir": %s, "smallDir": %s, "smallBytes": %s, "remoteDir": %s, "remoteSmallDir": %s},\n' \
      "$(js "$LAB_DIR/storage/backup")" "$(js "$LAB_DIR/storage/small")" $((LAB_SMALL_MIB * 1048576)) \
      "$(js "$LAB_REMOTE_STORAGE")" "$(js "$LAB_REMOTE_SMALL_STORAGE")"
    printf '  "roles": {"noos": %s, "agent": %s, "deadAgent": %s, "noChannel": %s, "multiDisk": %s, "big": %s, "offline": %s, "net": %s, "uefi": %s, "tpm": %s},\n' \
      "$(js "$ROLE_NOOS")" "$(js_or_null "$ROLE_AGENT")" "$(js "$ROLE_DEAD_AGENT")" "$(js "$ROLE_NO_CHANNEL")" \
      "$(js "$ROLE_MULTIDISK")" "$(js "$ROLE_BIG")" "$(js "$ROLE_OFFLINE")" "$(js "$ROLE_NET")" "$(js "$ROLE_UEFI")" "$(js "$ROLE_TPM")"
    printf '  "networks": ['
    first=1
    for n in $(lab_network_names); do
      [ $first = 1 ] || printf ','; first=0
      printf '\n    {"name": %s, "host": %s, "bridge": %s, "role": %s}' "$(js "$n")" "$(js "$LAB_NETWORK_HOST")" \
        "$(js "$(network_bridge "$n")")" "$(js "$(network_role "$n")")"
    done
    printf '\n  ],\n'
    printf '  "hosts": [\n'
    first=1
    for h in $(lab_host_names); do
      [ $first = 1 ] || printf ',\n'; first=0
      local execp; execp=$(host_exec_prefix "$h")
      printf '    {"name": %s, "transport": %s, "address": %s, "sshPort": %s, "libvirtUri": "qemu:///system",\n' \
        "$(js "$h")" "$(js "$([ "$h" = local ] && echo local || echo ssh)")" "$(js "$(host_addr "$h")")" "$(host_ssh_port "$h")"
      # shellcheck disable=SC2086   # split the prefix into argv words
      printf '     "remoteUri": %s, "netns": %s, "exec": %s,\n' "$(js "$(remote_uri "$h")")" \
        "$(js_or_null "$([ "$h" = local ] || hv_netns "$h")")" "$(js_list $execp)"
      # shellcheck disable=SC2046
      printf '     "vms": %s, "storageRoot": %s, "smallStorageRoot": %s,\n' "$(js_list $(host_vms "$h"))" \
        "$(js "$(host_storage "$h" backup)")" "$(js "$(host_storage "$h" small)")"
      printf '     "imagesDir": %s, "labImagesDir": %s, "labLogDir": %s, "libvirtdOwned": %s}' \
        "$(js "$(host_images_dir "$h")")" "$(js "$(lab_images_dir "$h")")" "$(js "$(host_dir "$h")/log")" \
        "$([ "$h" != local ] || [ "$LOCAL_LIBVIRTD_OWNED" = 1 ] && echo true || echo false)"
    done
    printf '\n  ],\n  "vms": [\n'
    first=1
    for vm in "${VMS[@]}"; do
      [ $first = 1 ] || printf ',\n'; first=0
      printf '    {"name": %s, "host": %s, "state": %s, "virtType": %s, "os": %s, "agent": %s, "memoryMiB": %s,\n     "disks": [' \
        "$(js "$vm")" "$(js "${VM_HOST[$vm]}")" "$(js "${VM_STATE[$vm]}")" "$(js "${VM_TYPE[$vm]}")" \
        "$(js "${VM_OS[$vm]}")" "$(js "${VM_AGENT[$vm]}")" "${VM_MEM[$vm]}"
      n=0
      for t in $(vm_targets "$vm"); do
        [ $n = 0 ] || printf ','; n=$((n + 1))
        printf '\n       {"target": %s, "path": %s, "labPath": %s, "format": "qcow2", "virtualBytes": %s, "pattern": [' \
          "$(js "$t")" "$(js "$(disk_path "$vm" "$t")")" "$(js "$(lab_disk_path "$vm" "$t")")" "$(size_of "$vm" "$t")"
        local pf=1
        for spec in $(pattern_of "$vm" "$t"); do
          IFS=: read -r byte off len <<<"$spec"
          [ $pf = 1 ] || printf ', '; pf=0
          printf '{"byte": %s, "offset": %s, "length": %s}' "$(js "$byte")" "$off" "$len"
        done
        printf ']}'
      done
      printf '],\n     "nics": ['
      nf=1
      for nic in ${VM_NICS[$vm]:-}; do
        [ $nf = 1 ] || printf ', '; nf=0
        IFS=@ read -r mac net tap <<<"$nic"
        printf '{"mac": %s, "network": %s, "tap": %s, "model": "virtio"}' "$(js "$mac")" "$(js "$net")" "$(js_or_null "$tap")"
      done
      printf '],\n     "firmware": %s, "uuid": %s, "optIn": %s, "nvram": ' "$(js "${VM_FW[$vm]:-bios}")" \
        "$(js "$(host_virsh "${VM_HOST[$vm]}" domuuid "$vm" | tr -d '[:space:]')")" "$([ "$(vm_opt_in "$vm")" = 1 ] && echo true || echo false)"
      if [ "${VM_FW[$vm]:-bios}" = uefi ]; then
        printf '{"path": %s, "labPath": %s, "template": %s}' "$(js "$(vm_nvram "$vm")")" "$(js "$(vm_lab_nvram "$vm")")" "$(js "$LAB_OVMF_VARS")"
      else printf null; fi
      printf ', "tpm": '
      if [ -n "${VM_TPM[$vm]:-}" ]; then
        printf '{"model": "tpm-crb", "backend": "emulator", "version": %s}' "$(js "${VM_TPM[$vm]}")"
      else printf null; fi
      printf '}'
    done
    printf '\n  ]\n}\n'
  } > "$o"
  mv "$o" "$LAB_DIR/lab.json"
}

# ---------------------------------------------------------------------------------------------

main() {
  require_root
  lab_lock
  [[ $LAB_HVS =~ ^[2-9]$ ]] || die "VMBACKUP_LAB_HVS must be 2..9 (got '$LAB_HVS')"
  # Paths go unquoted into lab.env lists, ssh command lines and libvirt XML.
  [[ $LAB_DIR =~ ^/[A-Za-z0-9._/-]+$ ]] || die "VMBACKUP_LAB_DIR must be an absolute path of [A-Za-z0-9._/-]"
  log "lab dir $LAB_DIR"
  prepare_lab_dir
  install_packages
  start_reaper
  define_inventory
  setup_storage
  setup_ssh_keys
  ensure_libvirt_user

  start_libvirtd local
  share_local_var_lib
  local n
  for n in $(lab_network_names); do ensure_network "$n"; done
  [ "$LAB_AGENT" = 1 ] && build_agent_kit
  local vm h i
  # The agent VM boots for ~5 s (TCG): start it first and set up the rest meanwhile.
  for vm in "${VMS[@]}"; do [ "${VM_HOST[$vm]}" = local ] && ensure_vm "$vm"; done
  start_sshd local

  for h in $(lab_hv_names); do
    setup_netns "$h"
    start_libvirtd "$h"
    start_sshd "$h"
    for vm in "${VMS[@]}"; do [ "${VM_HOST[$vm]}" = "$h" ] && ensure_vm "$vm"; done
  done
  record_qemu_pids
  save_capabilities
  wait_for_agent

  # Every host answers over ssh with strict host key checking: the lab is usable as described.
  local opts=() pids=() hs=()
  mapfile -t opts < <(lab_ssh_opts)
  for h in $(lab_host_names); do
    ssh "${opts[@]}" -p "$(host_ssh_port "$h")" "root@$(host_addr "$h")" true & pids+=($!) hs+=("$h")
  done
  for i in "${!pids[@]}"; do
    h=${hs[$i]}
    wait "${pids[$i]}" || die "$h: ssh root@$(host_addr "$h"):$(host_ssh_port "$h") failed (see $LAB_DIR/logs/sshd-$h.log)"
  done

  write_lab_env
  write_lab_json
  log "lab is up: $(lab_host_names | tr '\n' ' ')- VMs: ${VMS[*]}"
  log "details: $LAB_DIR/lab.env, $LAB_DIR/lab.json; check: test/lab/selftest.sh; stop: test/lab/down.sh"
}

main "$@"
