#!/usr/bin/env bash
# Installs the peers the benchmarks compare against (Debian packages, as root) and brings the lab
# up, so `npm run bench:backup` and `bench:daemon` work on a fresh machine. Idempotent.
set -euo pipefail
need=(virtnbdbackup qemu-utils)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
fi
echo "bench/setup.sh: present: ${need[*]}" >&2
# The lab (libvirtd, qemu VMs, namespace hypervisors): idempotent, ~2 s when already up.
bash "$(dirname "$0")/../test/lab/up.sh" >&2
