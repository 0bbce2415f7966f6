# shellcheck shell=bash
# net.sh: the lab's libvirt networks, on the `local` libvirtd. Sourced by up.sh and down.sh
# after lib.sh; never run.
#
# Why <forward mode='bridge'/> and not libvirt's own isolated network (no <forward>): libvirt 9.0
# starts even an address-less isolated network by inserting iptables rules, and this machine has
# no iptables ("cannot execute binary /usr/sbin/iptables"). A bridge-mode network needs no
# firewall, no dnsmasq and no /etc change; the lab makes its bridge itself, with no uplink port and
# no address (not even an IPv6 link-local one), so nothing on it can reach anything else.

# NAME:BRIDGE:ROLE. `prod` stands for a production network (lab-net's NICs are on it); `isolated`
# is what restore/test-restore --network isolated attach NICs to (policy-repo.ts makes it the
# local hypervisor's isolated_network). Bridge names keep down.sh's `vmblab-` link sweep working.
LAB_NETWORK_SPECS=(lab-prod:vmblab-prod:prod lab-isolated:vmblab-iso:isolated)
LAB_NETWORK_HOST=local

lab_network_names() { local s; for s in "${LAB_NETWORK_SPECS[@]}"; do echo "${s%%:*}"; done; }
network_field() { # network_field NAME 2|3: the bridge (2) or the role (3) of a lab network
  local s; for s in "${LAB_NETWORK_SPECS[@]}"; do if [ "${s%%:*}" = "$1" ]; then cut -d: -f"$2" <<<"$s"; fi; done
}
network_bridge() { network_field "$1" 2; }
network_role() { network_field "$1" 3; }
network_by_role() { local n; for n in $(lab_network_names); do if [ "$(network_role "$n")" = "$1" ]; then echo "$n"; fi; done; }

network_xml() {
  printf "<network>\n  <name>%s</name>\n  <forward mode='bridge'/>\n  <bridge name='%s'/>\n</network>\n" \
    "$1" "$(network_bridge "$1")"
}

# libvirt's net-info of a network, empty when it is not defined (or libvirtd does not answer).
network_info() { host_virsh "$LAB_NETWORK_HOST" net-info "$1" 2>/dev/null || true; }
network_info_bridge() { network_info "$1" | sed -n 's/^Bridge: *//p'; }
network_active() { local i; i=$(network_info "$1"); grep -q '^Active: *yes' <<<"$i"; }

ensure_bridge() {
  local br=$1
  if ! ip link show "$br" >/dev/null 2>&1; then
    ip link add name "$br" type bridge || die "cannot create bridge $br"
    ip link set dev "$br" addrgenmode none    # before `up`: the host gets no address on it at all
    log "bridge $br created (no uplink, no address)"
  fi
  ip link set dev "$br" up
}

# ensure_network NAME: bridge, definition and active network; repairs whichever part is missing.
ensure_network() {
  local n=$1 h=$LAB_NETWORK_HOST br got xml; br=$(network_bridge "$n")
  ensure_bridge "$br"
  got=$(network_info_bridge "$n")
  if [ -z "$got" ]; then
    xml=$(host_dir "$h")/net-$n.xml
    network_xml "$n" > "$xml"
    host_virsh "$h" net-define "$xml" >/dev/null || die "$h: cannot define network $n"
    log "$h: network $n defined (bridge $br)"
  elif [ "$got" != "$br" ]; then
    die "$h: a network $n exists on bridge $got, not the lab's $br: not touching it"
  fi
  network_active "$n" && return 0
  host_virsh "$h" net-start "$n" >/dev/null || die "$h: cannot start network $n"
  log "$h: network $n started"
}

# remove_networks: stop and undefine the lab networks (only those on the lab's bridges), then
# delete the bridges. Run after the VMs using them are gone.
remove_networks() {
  local n br
  for n in $(lab_network_names); do
    br=$(network_bridge "$n")
    if [ "$(network_info_bridge "$n")" = "$br" ]; then
      host_virsh "$LAB_NETWORK_HOST" net-destroy "$n" >/dev/null 2>&1
      host_virsh "$LAB_NETWORK_HOST" net-undefine "$n" >/dev/null 2>&1 && log "$LAB_NETWORK_HOST: removed network $n"
    fi
    if ip link show "$br" >/dev/null 2>&1; then ip link del "$br" && log "deleted bridge $br"; fi
  done
}
