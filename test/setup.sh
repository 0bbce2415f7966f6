#!/usr/bin/env bash
# Installs the real programs the test suite drives (Debian packages), as root. virt-xml-validate
# (libvirt-clients, with xmllint from libxml2-utils) checks every restored domain XML against libvirt's schema.
# promtool (prometheus; its service is never started) checks the alert rules and a live /metrics scrape.
# bacula-fd (its service is never started either): test/helpers/bacula-fd.ts runs one inside each namespace hypervisor.
# chromium: the web console's browser tests (test/web/browser*.test.ts) drive /usr/bin/chromium headless.
# Idempotent; CI runs it on a fresh machine before `npm ci && npm test`.
set -euo pipefail

need=(git sqlite3 bacula-director bacula-director-sqlite3 bacula-console bacula-fd libvirt-clients libxml2-utils prometheus chromium)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  # apt must never start services on this box (bacula-director would start on the default ports).
  created_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && created_policy=1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
  if ((created_policy)); then rm -f /usr/sbin/policy-rc.d; fi
fi
echo "test/setup.sh: system packages present: ${need[*]}"

# The libvirt/qemu/ssh lab the engine tests run against (idempotent; see test/lab/README.md).
if [[ "${VMBACKUP_SKIP_LAB:-0}" != 1 ]]; then
  bash "$(dirname "$0")/lab/up.sh"
fi

# systemd-analyze and systemd-notify (test/systemd/unit.test.ts runs `systemd-analyze verify` and
# `security --offline` on systemd/vmbackup.service; the sd_notify test runs the real systemd-notify).
# The package is only installed: nothing here starts systemd or changes PID 1.
if ! command -v systemd-analyze >/dev/null || ! command -v systemd-notify >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 systemd >/dev/null
fi
echo "test/setup.sh: systemd-analyze present: $(systemd-analyze --version | head -1)"
