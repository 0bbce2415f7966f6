#!/usr/bin/env bash
# selftest.sh: check every component of a running lab, using only what lab.env says.
# Prints one PASS/FAIL line per check and, last, "N passed, M failed". Exits 1 on any failure.
# Leaves the lab as it found it (overlays committed and removed, filesystems thawed,
# checkpoints deleted, its files in the storage removed).
set -u    # no pipefail: `cmd | grep -q` would fail with SIGPIPE (141) whenever grep stops reading early

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_LOG_TAG=selftest
# shellcheck source=lib.sh
source "$HERE/lib.sh"

[ -s "$LAB_DIR/lab.env" ] || { echo "no $LAB_DIR/lab.env: run test/lab/up.sh first"; echo "0 passed, 1 failed"; exit 1; }
set -a
# shellcheck disable=SC1091
. "$LAB_DIR/lab.env"
set +a

PASSED=0 FAILED=0
OUT=$(mktemp)
WORK=selftest-$$                      # our directory inside the backup storage
trap 'rm -f "$OUT"; rm -rf "${LAB_STORAGE_DIR:?}/$WORK"' EXIT

# check NAME CMD...: run CMD, print PASS/FAIL with its duration; on failure show its output.
check() {
  local name=$1 t0 rc dt; shift
  t0=$(date +%s%N)
  "$@" >"$OUT" 2>&1; rc=$?
  dt=$(( ($(date +%s%N) - t0) / 10000000 ))
  dt=$(printf '%d.%02d' $((dt / 100)) $((dt % 100)))
  if [ $rc = 0 ]; then
    PASSED=$((PASSED + 1)); printf 'PASS %6ss  %s\n' "$dt" "$name"
  else
    FAILED=$((FAILED + 1)); printf 'FAIL %6ss  %s (rc=%s)\n' "$dt" "$name" "$rc"
    tail -n 8 "$OUT" | sed 's/^/        /'
  fi
}

# --- access helpers, built only from lab.env ------------------------------------------------

key() { echo "$1" | tr 'a-z-' 'A-Z_'; }
hv() { local v; v="LAB_HOST_$(key "$1")_$2"; echo "${!v}"; }     # hv HOST FIELD
vmv() { local v; v="LAB_VM_$(key "$1")_$2"; echo "${!v}"; }      # vmv VM FIELD
read -ra SSH_OPTS <<<"$LAB_SSH_OPTS"

# on HOST CMD: run the shell command line CMD on HOST through its sshd, as the engine will.
on() { local h=$1; shift; ssh "${SSH_OPTS[@]}" -p "$(hv "$h" SSH_PORT)" "root@$(hv "$h" ADDRESS)" "$*"; }
# local_on HOST CMD...: run CMD "on" HOST without ssh (nsenter into a hvN's namespaces).
local_on() { local h=$1; shift; local -a pre; read -ra pre <<<"$(hv "$h" EXEC)"; "${pre[@]}" "$@"; }
vsh() { local h=$1; shift; on "$h" "virsh -q -c $(hv "$h" LIBVIRT_URI) $*"; }   # virsh over ssh
lvirsh() { virsh -q -c qemu:///system "$@"; }                                    # local libvirt
sorted() { tr ' ' '\n' | grep . | sort; }

# expect_fail_with TEXT MAX_SECONDS CMD...: CMD must fail, within MAX_SECONDS, printing TEXT.
expect_fail_with() {
  local text=$1 max=$2 t0 out rc ms; shift 2
  t0=$(date +%s%N); out=$("$@" 2>&1); rc=$?; ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  echo "rc=$rc after ${ms} ms: $out"
  [ $rc != 0 ] && grep -qF -- "$text" <<<"$out" && [ "$ms" -le $((max * 1000)) ]
}

# has_pattern FILE "BYTE:OFF:LEN ...": the image holds every pattern (read-only, shared lock).
has_pattern() {
  local f=$1 spec byte off len args=()
  for spec in $2; do IFS=: read -r byte off len <<<"$spec"; args+=(-c "read -q -P $byte $off $len"); done
  [ ${#args[@]} -gt 0 ] || return 0
  qemu-io -r -U -f qcow2 "${args[@]}" "$f" 2>&1 | tee /dev/stderr | { ! grep -q 'Pattern verification failed'; }
}

# --- the lab description ---------------------------------------------------------------------

t_lab_json() {
  if command -v node >/dev/null; then
    node -e '
      const fs = require("fs");
      const lab = JSON.parse(fs.readFileSync(process.argv[1] + "/lab.json", "utf8"));
      const env = Object.fromEntries(fs.readFileSync(process.argv[1] + "/lab.env", "utf8").split("\n")
        .map((l) => l.match(/^([A-Z0-9_]+)='"'"'(.*)'"'"'$/)).filter(Boolean).map((m) => [m[1], m[2]]));
      const eq = (a, b, what) => { if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(what + ": " + JSON.stringify(a) + " != " + JSON.stringify(b)); };
      eq(lab.hosts.map((h) => h.name).join(" "), env.LAB_HOSTS, "hosts");
      eq(lab.vms.map((v) => v.name).join(" "), env.LAB_VMS, "vms");
      for (const h of lab.hosts) {
        const k = "LAB_HOST_" + h.name.toUpperCase() + "_";
        eq(h.address, env[k + "ADDRESS"], h.name + " address"); eq(String(h.sshPort), env[k + "SSH_PORT"], h.name + " port");
        eq(h.vms.join(" "), env[k + "VMS"], h.name + " vms");
      }
      for (const v of lab.vms) {
        const k = "LAB_VM_" + v.name.toUpperCase().replace(/-/g, "_") + "_";
        eq(v.disks.map((d) => d.path).join(" "), env[k + "DISKS"], v.name + " disks");
        eq(v.agent, env[k + "AGENT"], v.name + " agent");
        eq(v.nics.map((n) => n.mac).join(" "), env[k + "MACS"], v.name + " MACs");
        eq(v.nics.map((n) => n.network).join(" "), env[k + "NETWORKS"], v.name + " NIC networks");
        eq(v.nics.map((n) => n.tap ?? "-").join(" "), env[k + "NIC_TAPS"], v.name + " NIC taps");
      }
      eq(lab.networks.map((n) => n.name).join(" "), env.LAB_NETWORKS, "networks");
      for (const n of lab.networks) eq(n.bridge, env["LAB_NETWORK_" + n.name.toUpperCase().replace(/-/g, "_") + "_BRIDGE"], n.name + " bridge");
      eq(lab.roles.net, env.LAB_VM_NET, "role net");
      console.log("lab.json agrees with lab.env:", lab.hosts.length, "hosts,", lab.vms.length, "VMs");
    ' "$LAB_DIR"
  else
    jq -e '.hosts and .vms' "$LAB_DIR/lab.json"
  fi
}

# --- every host: libvirt locally and over ssh, ssh policy, storage, disks --------------------

t_virsh_on_host() {  # the host's own libvirt lists exactly (hvN) or at least (local) its VMs
  local h=$1 got want
  got=$(local_on "$h" virsh -q -c "$(hv "$h" LIBVIRT_URI)" list --all --name | sorted)
  want=$(hv "$h" VMS | sorted)
  echo "got: $got / want: $want"
  if [ "$h" = local ]; then [ -z "$(comm -13 <(echo "$got") <(echo "$want"))" ]; else [ "$got" = "$want" ]; fi
}
t_virsh_over_ssh() {
  local h=$1 got want
  got=$(vsh "$h" list --all --name | sorted)
  want=$(hv "$h" VMS | sorted)
  echo "got: $got / want: $want"
  if [ "$h" = local ]; then [ -z "$(comm -13 <(echo "$got") <(echo "$want"))" ]; else [ "$got" = "$want" ]; fi
}
t_ssh_config_aliases() {  # ssh -F $LAB_SSH_CONFIG <host> works for every host name
  local h out
  for h in $LAB_HOSTS; do
    out=$(ssh -F "$LAB_SSH_CONFIG" "$h" 'echo ok')
    if [ "$out" != ok ]; then echo "$h: $out"; return 1; fi
  done
}
t_remote_uri() { virsh -q -c "$(hv "$1" REMOTE_URI)" list --all --name | grep -qx "$(hv "$1" VMS | cut -d' ' -f1)"; }
t_hostname() { [ "$(on "$1" hostname)" = "$1" ]; }
t_password_refused() {
  expect_fail_with 'Permission denied (publickey)' 5 ssh -o BatchMode=yes -o PubkeyAuthentication=no \
    -o PreferredAuthentications=password,keyboard-interactive -o StrictHostKeyChecking=yes \
    -o "UserKnownHostsFile=$LAB_SSH_KNOWN_HOSTS" -p "$(hv "$1" SSH_PORT)" "root@$(hv "$1" ADDRESS)" true
}
t_unknown_host_refused() {
  expect_fail_with 'Host key verification failed' 5 ssh -i "$LAB_SSH_KEY" -o BatchMode=yes -o StrictHostKeyChecking=yes \
    -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null -p "$(hv "$1" SSH_PORT)" "root@$(hv "$1" ADDRESS)" true
}
t_storage_shared() {  # a file the host writes to its storage root appears in the lab's storage dir
  local h=$1 f="$WORK/from-$1"
  on "$h" "mkdir -p $(hv "$h" STORAGE_ROOT)/$WORK && echo $h > $(hv "$h" STORAGE_ROOT)/$f" &&
    [ "$(cat "$LAB_STORAGE_DIR/$f")" = "$h" ]
}
t_small_storage_on_host() {
  local h=$1 size
  size=$(on "$h" "df -B1 --output=size $(hv "$h" SMALL_STORAGE_ROOT) | tail -1")
  echo "size $size, limit $LAB_SMALL_STORAGE_BYTES"
  [ "$size" -gt 0 ] && [ "$size" -le "$LAB_SMALL_STORAGE_BYTES" ]
}
t_disks_present() {  # every disk is where lab.env says, seen from the host and from the runner
  local h=$1 vm p
  local remote=() lab=()
  local -a r l
  for vm in $(hv "$h" VMS); do
    read -ra r <<<"$(vmv "$vm" DISKS)"; read -ra l <<<"$(vmv "$vm" LAB_DISKS)"
    remote+=("${r[@]}"); lab+=("${l[@]}")
  done
  on "$h" "for p in ${remote[*]}; do qemu-img info -U \$p >/dev/null || exit 1; done" || return 1
  for p in "${lab[@]}"; do [ -f "$p" ] || { echo "runner: no $p"; return 1; }; done
}

# --- OS-less VM with a dead agent channel ----------------------------------------------------

t_dead_agent_ping() { expect_fail_with 'QEMU guest agent is not connected' 1 lvirsh qemu-agent-command "$LAB_VM_DEAD_AGENT" '{"execute":"guest-ping"}'; }
t_dead_agent_freeze() { expect_fail_with 'QEMU guest agent is not connected' 1 lvirsh domfsfreeze "$LAB_VM_DEAD_AGENT"; }
t_dead_agent_quiesce() {
  local vm=$LAB_VM_DEAD_AGENT ovl; ovl="$(vmv "$vm" LAB_DISKS).st-q"
  expect_fail_with 'QEMU guest agent is not connected' 1 lvirsh snapshot-create-as "$vm" st-q --disk-only \
    --atomic --no-metadata --quiesce --diskspec "vda,file=$ovl" && [ ! -e "$ovl" ]
}

# The snapshot method, on the OS-less VM: overlay, guest write during the copy, copy, commit.
t_snapshot_copy_commit() {
  local vm=$LAB_VM_NOOS base ovl copy
  base=$(vmv "$vm" DISKS); ovl="$base.st-ovl"; copy="$LAB_STORAGE_DIR/$WORK/$vm.qcow2"
  mkdir -p "$LAB_STORAGE_DIR/$WORK"
  lvirsh snapshot-create-as "$vm" st --disk-only --atomic --no-metadata --diskspec "vda,file=$ovl" || return 1
  lvirsh domblklist "$vm" | grep -qF "$ovl" || { echo "domblklist does not show the overlay"; return 1; }
  # A "guest" write while the copy runs: it must land in the overlay, not in the base.
  lvirsh qemu-monitor-command "$vm" --hmp \
    'qemu-io -d /machine/peripheral/virtio-disk0/virtio-backend "write -P 0x5a 64M 1M"' || return 1
  qemu-img map -U --output=json "$ovl" | grep -q '"depth": 0, "present": true, "zero": false, "data": true' \
    || { echo "write did not land in the overlay"; return 1; }
  qemu-img convert -O qcow2 "$base" "$copy" || return 1
  has_pattern "$copy" "$(vmv "$vm" VDA_PATTERN)" || return 1
  qemu-io -r -U -c 'read -P 0 64M 1M' "$copy" | grep -q 'verification failed' && { echo "copy has the later write"; return 1; }
  lvirsh blockcommit "$vm" vda --active --pivot --wait || return 1
  [ "$(lvirsh domblklist "$vm" | awk '{print $2}')" = "$base" ] || { echo "not pivoted back to $base"; return 1; }
  rm -f "$ovl"                                     # blockcommit leaves the overlay file behind
  has_pattern "$base" "0x5a:67108864:1048576" || { echo "the write was not committed"; return 1; }
  # Undo the write (zero clusters), so the disk holds only its documented pattern again.
  lvirsh qemu-monitor-command "$vm" --hmp 'qemu-io -d /machine/peripheral/virtio-disk0/virtio-backend "write -z 64M 1M"'
}

t_backup_begin() {  # push-mode full backup with a checkpoint (the incremental-backup API)
  local vm=$LAB_VM_NOOS w="$LAB_STORAGE_DIR/$WORK" i
  mkdir -p "$w"
  echo "<domaincheckpoint><name>st-cp</name><disks><disk name='vda' checkpoint='bitmap'/></disks></domaincheckpoint>" > "$w/cp.xml"
  echo "<domainbackup mode='push'><disks><disk name='vda' backup='yes' type='file'><driver type='qcow2'/><target file='$w/full.qcow2'/></disk></disks></domainbackup>" > "$w/bk.xml"
  lvirsh backup-begin "$vm" "$w/bk.xml" "$w/cp.xml" || return 1
  for i in $(seq 100); do lvirsh domjobinfo "$vm" | grep -q 'Job type: *None' && break; sleep 0.1; done
  lvirsh domjobinfo "$vm" --completed --keep-completed | grep -q 'Job type: *Completed' || return 1
  qemu-img compare -U "$w/full.qcow2" "$(vmv "$vm" LAB_DISKS)" || return 1
  lvirsh checkpoint-delete "$vm" st-cp
}

# Multi-disk VM on hv1, entirely over ssh, copies to the hypervisor's /mnt/backup.
t_multidisk_over_ssh() {
  local vm=$LAB_VM_MULTIDISK h; h=$(vmv "$vm" HOST)
  local root; root=$(hv "$h" STORAGE_ROOT)
  local targets disks i specs="" cmds=""
  read -ra targets <<<"$(vmv "$vm" TARGETS)"; read -ra disks <<<"$(vmv "$vm" DISKS)"
  for i in "${!targets[@]}"; do
    specs+=" --diskspec ${targets[$i]},file=${disks[$i]}.st-ovl"
    cmds+=" && qemu-img convert -O qcow2 ${disks[$i]} $root/$WORK/$vm-${targets[$i]}.qcow2"
  done
  on "$h" "mkdir -p $root/$WORK && virsh -q -c qemu:///system snapshot-create-as $vm st --disk-only --atomic --no-metadata$specs $cmds" || return 1
  for i in "${!targets[@]}"; do
    on "$h" "virsh -q -c qemu:///system blockcommit $vm ${targets[$i]} --active --pivot --wait && rm -f ${disks[$i]}.st-ovl" || return 1
  done
  for i in "${!targets[@]}"; do
    has_pattern "$LAB_STORAGE_DIR/$WORK/$vm-${targets[$i]}.qcow2" "$(vmv "$vm" "$(key "${targets[$i]}")_PATTERN")" || return 1
  done
}

# --- the real guest agent ---------------------------------------------------------------------

agent() { lvirsh qemu-agent-command "$LAB_VM_AGENT" "{\"execute\":\"$1\"}"; }
t_agent_ping() { agent guest-ping | grep -q '"return":{}'; }
t_agent_freeze_thaw() {
  agent guest-fsfreeze-freeze | grep -q '"return":1' || return 1
  agent guest-fsfreeze-status | grep -q '"return":"frozen"' || return 1
  agent guest-fsfreeze-thaw | grep -q '"return":1' || return 1
  agent guest-fsfreeze-status | grep -q '"return":"thawed"'
}
t_agent_domfsfreeze() {  # (no virsh -q: it would hide the "Froze N filesystem(s)" lines)
  local froze thawed
  froze=$(virsh -c qemu:///system domfsfreeze "$LAB_VM_AGENT")
  thawed=$(virsh -c qemu:///system domfsthaw "$LAB_VM_AGENT")
  echo "$froze / $thawed"
  grep -q 'Froze 1 filesystem' <<<"$froze" && grep -q 'Thawed 1 filesystem' <<<"$thawed"
}
t_agent_quiesce_over_ssh() {  # the quiesce method, run through the host's own sshd
  local vm=$LAB_VM_AGENT base; base=$(vmv "$vm" DISKS)
  on local "virsh -q -c qemu:///system snapshot-create-as $vm st --disk-only --atomic --no-metadata --quiesce --diskspec vda,file=$base.st-ovl \
    && mkdir -p $(hv local STORAGE_ROOT)/$WORK && qemu-img convert -O qcow2 $base $(hv local STORAGE_ROOT)/$WORK/$vm.qcow2 \
    && virsh -q -c qemu:///system blockcommit $vm vda --active --pivot --wait && rm -f $base.st-ovl" || return 1
  agent guest-fsfreeze-status | grep -q '"return":"thawed"' || return 1
  # The copy is a clean ext4 image holding the guest's files.
  qemu-img convert -O raw "$LAB_STORAGE_DIR/$WORK/$vm.qcow2" "$LAB_STORAGE_DIR/$WORK/$vm.raw" &&
    e2fsck -fn "$LAB_STORAGE_DIR/$WORK/$vm.raw" && debugfs -R 'cat /hello.txt' "$LAB_STORAGE_DIR/$WORK/$vm.raw" | grep -q hello
}
t_agent_exec() {  # the guest is real: run a command in it and read its output
  local pid out
  pid=$(lvirsh qemu-agent-command "$LAB_VM_AGENT" \
    '{"execute":"guest-exec","arguments":{"path":"/bin/sh","arg":["-c","cat /mnt/data/hello.txt"],"capture-output":true}}' \
    | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
  [ -n "$pid" ] || return 1
  for _ in $(seq 50); do
    out=$(lvirsh qemu-agent-command "$LAB_VM_AGENT" "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":$pid}}")
    grep -q '"exited":true' <<<"$out" && break; sleep 0.1
  done
  echo "$out"
  base64 -d <<<"$(sed -n 's/.*"out-data":"\([^"]*\)".*/\1/p' <<<"$out")" | grep -q hello
}

# Fault injection for "hung agent" tests: stop qemu-ga inside the guest for a few seconds.
# guest-exec's child is not stopped with qemu-ga, so it resumes the agent by itself.
t_agent_hang() {
  # shellcheck disable=SC2016   # $(pidof) runs in the guest
  lvirsh qemu-agent-command "$LAB_VM_AGENT" \
    '{"execute":"guest-exec","arguments":{"path":"/bin/sh","arg":["-c","sleep 0.3; kill -STOP $(pidof qemu-ga); sleep 3; kill -CONT $(pidof qemu-ga)"]}}' \
    >/dev/null || return 1
  sleep 0.6
  expect_fail_with 'Guest agent not available for now' 2 lvirsh qemu-agent-command --timeout 1 "$LAB_VM_AGENT" \
    '{"execute":"guest-ping"}' || return 1
  wait_until 10 agent guest-ping || { echo "agent did not come back"; return 1; }
}

# --- the other hypervisor VMs ------------------------------------------------------------------

t_no_channel() {
  local vm=$LAB_VM_NO_CHANNEL
  expect_fail_with 'QEMU guest agent is not configured' 2 vsh "$(vmv "$vm" HOST)" qemu-agent-command "$vm" "'{\"execute\":\"guest-ping\"}'"
}
t_offline() { [ "$(vsh "$(vmv "$LAB_VM_OFFLINE" HOST)" domstate "$LAB_VM_OFFLINE")" = "shut off" ]; }

# --- libvirt networks and the VM with NICs ----------------------------------------------------

netv() { local v; v="LAB_NETWORK_$(key "$1")_$2"; echo "${!v}"; }   # netv NETWORK FIELD
# Every lab network is active on its bridge, and the bridge is isolated: no address on the host
# side, and no port but VMs' tap devices, so no uplink to anywhere.
t_networks() {
  local n h br ports addrs p
  for n in $LAB_NETWORKS; do
    h=$(netv "$n" HOST); br=$(netv "$n" BRIDGE)
    local_on "$h" virsh -q -c qemu:///system net-info "$n" | grep -q '^Active: *yes' || { echo "$n: not active"; return 1; }
    local_on "$h" virsh -q -c qemu:///system net-info "$n" | grep -qx "Bridge: *$br" || { echo "$n: not on bridge $br"; return 1; }
    addrs=$(local_on "$h" ip -o addr show dev "$br")
    [ -z "$addrs" ] || { echo "$br has addresses: $addrs"; return 1; }
    ports=$(local_on "$h" ip -o link show master "$br" | awk -F': ' '{print $2}' | sed 's/@.*//')
    echo "$n on $br, ports: $(echo "$ports" | tr '\n' ' ')"
    for p in $ports; do
      local_on "$h" ip -d link show dev "$p" | grep -q 'tun type tap' || { echo "$br: port $p is not a VM's tap"; return 1; }
    done
  done
}
# The VM with NICs: its persistent definition has the described MACs on the described networks,
# and each of its running NICs is a tap (with the described name, if fixed) on that network's bridge.
t_net_vm_nics() {
  local vm=$LAB_VM_NET h; h=$(vmv "$vm" HOST)
  local got macs=() nets=() taps=() i tap master
  got=$(local_on "$h" virsh -q -c qemu:///system domiflist "$vm" --inactive | awk '{print $3 "@" $5}' | tr '\n' ' ' | sed 's/ $//')
  read -ra macs <<<"$(vmv "$vm" MACS)"; read -ra nets <<<"$(vmv "$vm" NETWORKS)"; read -ra taps <<<"$(vmv "$vm" NIC_TAPS)"
  local want=""; for i in "${!macs[@]}"; do want+="${want:+ }${nets[$i]}@${macs[$i]}"; done
  echo "defined: $got / described: $want"
  [ -n "$want" ] && [ "$got" = "$want" ] || return 1
  for i in "${!macs[@]}"; do
    tap=$(local_on "$h" virsh -q -c qemu:///system domiflist "$vm" | awk -v m="${macs[$i]}" '$5 == m {print $1}')
    master=$(local_on "$h" ip -o link show dev "$tap" | sed -n 's/.* master \([^ ]*\) .*/\1/p')
    echo "${macs[$i]}: tap $tap on $master"
    [ "$master" = "$(netv "${nets[$i]}" BRIDGE)" ] || return 1
    [ "${taps[$i]}" = - ] || [ "${taps[$i]}" = "$tap" ] || { echo "tap should be ${taps[$i]}"; return 1; }
  done
}

# --- UEFI and vTPM ----------------------------------------------------------------------------

# The UEFI VM: OVMF loader, its NVRAM where lab.env says, the same file for libvirt (dumpxml) and
# for the test runner (LAB_NVRAM; on local the bind mount of /var/lib/libvirt), not the template.
t_uefi_nvram() {
  local vm=${1:-$LAB_VM_UEFI} h xml nv lab; h=$(vmv "$vm" HOST)
  xml=$(on "$h" "virsh -q -c $(hv "$h" LIBVIRT_URI) dumpxml $vm")
  nv=$(sed -n "s/.*<nvram[^>]*>\(.*\)<\/nvram>.*/\1/p" <<<"$xml"); lab=$(vmv "$vm" LAB_NVRAM)
  echo "loader: $(grep -o 'OVMF_CODE[^<]*' <<<"$xml"); nvram: $nv; runner: $lab"
  [ "$(vmv "$vm" FIRMWARE)" = uefi ] && grep -q "<loader[^>]*pflash[^>]*>[^<]*OVMF_CODE" <<<"$xml" || return 1
  [ -n "$nv" ] && [ "$nv" = "$(vmv "$vm" NVRAM)" ] && [ -s "$lab" ] || return 1
  [ "$(on "$h" "sha256sum < $nv")" = "$(sha256sum < "$lab")" ] || { echo "the host's $nv is not the runner's $lab"; return 1; }
}
# The vTPM VM: a tpm-crb with an emulator backend, a swtpm process for it, state under the UUID.
t_tpm_state() {
  local vm=$LAB_VM_TPM h uuid dir; h=$(vmv "$vm" HOST); uuid=$(vmv "$vm" UUID)
  dir=/var/lib/libvirt/swtpm/$uuid/tpm2
  on "$h" "virsh -q -c $(hv "$h" LIBVIRT_URI) dumpxml --inactive $vm" | grep -q "<backend type='emulator' version='$(vmv "$vm" TPM)'" || { echo "no emulator TPM"; return 1; }
  on "$h" "test -s $dir/tpm2-00.permall && ls -l $dir" || return 1
  on "$h" "pgrep -a swtpm" | grep -- "$uuid" | cut -c1-160 | grep . || { echo "no swtpm process for $uuid"; return 1; }
}

# --- storage ------------------------------------------------------------------------------------

t_small_storage_size() {
  local size; size=$(df -B1 --output=size "$LAB_SMALL_STORAGE_DIR" | tail -1)
  echo "size $size"; [ "$size" -le "$LAB_SMALL_STORAGE_BYTES" ] && [ -z "$(ls -A "$LAB_SMALL_STORAGE_DIR")" ]
}
t_storage_full() {  # copying the big VM's disk into the small storage fails with ENOSPC
  local vm=$LAB_VM_BIG h; h=$(vmv "$vm" HOST)
  local dst; dst="$(hv "$h" SMALL_STORAGE_ROOT)/$WORK-big.qcow2"
  # -U: the VM is running and holds the write lock on its disk (no snapshot taken here).
  expect_fail_with 'No space left on device' 30 on "$h" "qemu-img convert -U -O qcow2 $(vmv "$vm" DISKS) $dst"
  local rc=$?
  on "$h" "rm -f $dst"
  return $rc
}

# --- end state ---------------------------------------------------------------------------------

t_vms_as_described() {  # every VM in its described state, on its base disks (no leftover overlays)
  local vm h bad=0 state got
  for vm in $LAB_VMS; do
    h=$(vmv "$vm" HOST)
    state=$(local_on "$h" virsh -q -c qemu:///system domstate "$vm")
    [ "$state" = "$(vmv "$vm" STATE | sed 's/shutoff/shut off/')" ] || { echo "$vm: state $state"; bad=1; }
    got=$(local_on "$h" virsh -q -c qemu:///system domblklist "$vm" | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//')
    [ "$got" = "$(vmv "$vm" DISKS)" ] || { echo "$vm: disks $got"; bad=1; }
  done
  return $bad
}

main() {
  local h
  echo "selftest of the lab at $LAB_DIR: hosts $LAB_HOSTS; VMs $LAB_VMS"
  check "lab.json parses and agrees with lab.env" t_lab_json
  for h in $LAB_HOSTS; do
    check "$h: virsh list on the host itself" t_virsh_on_host "$h"
    check "$h: virsh list over ssh ($(hv "$h" ADDRESS):$(hv "$h" SSH_PORT), strict host key)" t_virsh_over_ssh "$h"
    check "$h: libvirt remote URI (qemu+libssh, lab key + known_hosts)" t_remote_uri "$h"
    [ "$h" = local ] || check "$h: has its own hostname" t_hostname "$h"
    check "$h: password login refused (key only)" t_password_refused "$h"
    check "$h: storage root shared with the lab storage dir" t_storage_shared "$h"
    check "$h: small storage is at most $((LAB_SMALL_STORAGE_BYTES / 1048576)) MiB" t_small_storage_on_host "$h"
    check "$h: VM disks exist at the described paths" t_disks_present "$h"
  done
  check "local: unknown host key refused" t_unknown_host_refused local
  check "ssh -F \$LAB_SSH_CONFIG <host> for every host" t_ssh_config_aliases

  check "$LAB_VM_DEAD_AGENT: agent command fails fast (not connected)" t_dead_agent_ping
  check "$LAB_VM_DEAD_AGENT: domfsfreeze fails fast" t_dead_agent_freeze
  check "$LAB_VM_DEAD_AGENT: --quiesce snapshot fails fast, no overlay left" t_dead_agent_quiesce
  check "$LAB_VM_NOOS: disk-only snapshot, guest write, qemu-img convert, blockcommit --active --pivot" t_snapshot_copy_commit
  check "$LAB_VM_NOOS: checkpoint + backup-begin (push, full)" t_backup_begin
  check "$LAB_VM_MULTIDISK: 2-disk snapshot/convert/commit over ssh into $LAB_REMOTE_STORAGE_DIR" t_multidisk_over_ssh

  if [ -n "$LAB_VM_AGENT" ]; then
    check "$LAB_VM_AGENT: guest-ping" t_agent_ping
    # A failed freeze check must not leave the guest frozen for the checks after it.
    thaw() { agent guest-fsfreeze-status | grep -q frozen && agent guest-fsfreeze-thaw >/dev/null; return 0; }
    check "$LAB_VM_AGENT: fsfreeze freeze/status/thaw through the agent" t_agent_freeze_thaw; thaw
    check "$LAB_VM_AGENT: virsh domfsfreeze/domfsthaw" t_agent_domfsfreeze; thaw
    check "$LAB_VM_AGENT: --quiesce snapshot, copy, commit over ssh; copy is a clean ext4" t_agent_quiesce_over_ssh
    check "$LAB_VM_AGENT: guest-exec runs in the guest" t_agent_exec
    check "$LAB_VM_AGENT: hung agent (qemu-ga SIGSTOPped 3 s) times out, then recovers" t_agent_hang; thaw
  fi

  check "$LAB_VM_NO_CHANNEL: agent command says 'not configured'" t_no_channel
  check "$LAB_VM_OFFLINE: is shut off" t_offline
  check "networks $LAB_NETWORKS: active, on address-less bridges with no uplink" t_networks
  check "$LAB_VM_NET: NICs with the described MACs, taps on the described networks' bridges" t_net_vm_nics
  if [ -n "${LAB_VM_UEFI:-}" ]; then
    check "$LAB_VM_UEFI: UEFI (OVMF), NVRAM at the described path, the same file for libvirt and the runner" t_uefi_nvram "$LAB_VM_UEFI"
    check "$LAB_VM_TPM: UEFI NVRAM over ssh" t_uefi_nvram "$LAB_VM_TPM"
    check "$LAB_VM_TPM: emulated TPM $(vmv "$LAB_VM_TPM" TPM): swtpm runs, state in /var/lib/libvirt/swtpm/<uuid>" t_tpm_state
  fi
  check "small storage: tmpfs of $LAB_SMALL_STORAGE_BYTES bytes, empty" t_small_storage_size
  check "$LAB_VM_BIG: copy into the small storage fails with ENOSPC" t_storage_full
  check "all VMs in their described state, on their base disks" t_vms_as_described

  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" = 0 ]
}

main "$@"
