#!/usr/bin/env bash
# Installs the vmbackup daemon's system side: the vmbackup user and group, its directories with
# their modes, the systemd unit and an example env file, and the schedule installer
# (vmbackup-schedule.path, enabled and started: it installs the cron.d file or timers the daemon
# stages, as root). Idempotent: a second run changes nothing and says so. It never overwrites
# /etc/vmbackup/vmbackup.env, never enables or starts vmbackup.service, and never touches secrets
# (it prints the systemd-creds steps instead).
#
#   sudo systemd/install.sh [--dry-run] [--root DIR] [--storage PATH]
#
# --dry-run     print what would change, change nothing (no root needed)
# --root DIR    install into DIR instead of / (packaging, tests); systemctl is not called
# --storage P   the backup storage mount (default /mnt/backup), only checked, never created
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dry=0 root='' storage=/mnt/backup changed=0
while (($#)); do
  case "$1" in
    --dry-run) dry=1 ;;
    --root) root=${2:?--root needs a directory}; shift ;;
    --storage) storage=${2:?--storage needs a path}; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
root=${root%/}
rootopt=(); [[ -n $root ]] && rootopt=(--root "$root")

if ((!dry)) && ((EUID != 0)); then echo "install.sh: run as root (or with --dry-run)" >&2; exit 1; fi

say() { printf '%s\n' "$*"; }
# do_ DESCRIPTION CMD...: runs CMD (or, with --dry-run, only says it would).
do_() {
  local what=$1; shift
  changed=1
  if ((dry)); then say "would: $what"; else say "do:    $what"; "$@"; fi
}
ok() { say "ok:    $*"; }

# On / ask NSS (LDAP/SSSD users count); under --root read that tree's files.
has_group() { if [[ -z $root ]]; then getent group "$1" >/dev/null; else grep -q "^$1:" "$root/etc/group" 2>/dev/null; fi; }
has_user() { if [[ -z $root ]]; then getent passwd "$1" >/dev/null; else grep -q "^$1:" "$root/etc/passwd" 2>/dev/null; fi; }
in_group() { # GROUP USER
  if [[ -z $root ]]; then id -nG "$2" 2>/dev/null | tr ' ' '\n' | grep -qx "$1"
  else grep -Eq "^$1:[^:]*:[^:]*:(.*,)?$2(,.*)?$" "$root/etc/group" 2>/dev/null; fi
}
nologin=/usr/sbin/nologin; [[ -x $nologin ]] || nologin=/bin/false

# 1. The group and the user. Home is the state directory; no login shell, no password.
if has_group vmbackup; then ok "group vmbackup exists"; else do_ "create system group vmbackup" groupadd "${rootopt[@]}" --system vmbackup; fi
if has_user vmbackup; then ok "user vmbackup exists"
else do_ "create system user vmbackup (home /var/lib/vmbackup, shell $nologin)" \
  useradd "${rootopt[@]}" --system --gid vmbackup --home-dir /var/lib/vmbackup --no-create-home --shell "$nologin" --comment "vmbackup daemon" vmbackup
fi
# Bacula's RunScripts run `vmbackup backup` as user bacula: it shares the state dir (locks, run
# history) and the ssh key through group vmbackup.
if has_user bacula; then
  if in_group vmbackup bacula; then ok "user bacula is in group vmbackup"; else do_ "add user bacula to group vmbackup" usermod "${rootopt[@]}" -aG vmbackup bacula; fi
else
  say "note:  no bacula user here; with scheduler: cron the unit's SupplementaryGroups=bacula is reset by a drop-in below"
fi

# 2. Directories: owner, group, mode. Names are resolved in $root's passwd/group (numeric ids),
# so --root works even when the host has no vmbackup user.
id_of() { # passwd|group NAME -> numeric id
  if [[ -z $root ]]; then getent "$1" "$2" | cut -d: -f3 | grep .
  else awk -F: -v n="$2" '$1 == n { print $3; f = 1 } END { exit !f }' "$root/etc/$1"; fi
}
ids() { # OWNER GROUP -> "uid:gid", or the names when they do not exist yet (dry run)
  local u g; u=$(id_of passwd "$1") || u=$1; g=$(id_of group "$2") || g=$2; printf '%s:%s' "$u" "$g"
}
own() { chown "$1" "$3" && chmod "$2" "$3"; }              # IDS MODE PATH
mkdir_own() { install -d "$3" && own "$@"; }              # IDS MODE PATH
ensure_dir() { # PATH OWNER GROUP MODE
  local p=$root$1 want; want="$(ids "$2" "$3") $4"
  if [[ -d $p ]]; then
    local have; have=$(stat -c '%u:%g %a' "$p")
    if [[ $have == "$want" ]]; then ok "$1 ($2:$3 $4)"; return; fi
    do_ "set $1 to $2:$3 $4 (was $(stat -c '%U:%G %a' "$p"))" own "${want% *}" "$4" "$p"
  else
    do_ "create $1 ($2:$3 $4)" mkdir_own "${want% *}" "$4" "$p"
  fi
}
ensure_dir /etc/vmbackup root vmbackup 750
ensure_dir /etc/vmbackup/ssh root vmbackup 750
ensure_dir /var/lib/vmbackup vmbackup vmbackup 2770
ensure_dir /etc/credstore.encrypted root root 700
# The daemon replaces the rendered Bacula config in /etc/bacula atomically (temp file + rename),
# which needs write access to the directory; setgid keeps new files in group vmbackup, which
# user bacula (the director) is in.
if [[ -d $root/etc/bacula ]]; then ensure_dir /etc/bacula root vmbackup 2775
else say "note:  no /etc/bacula (Bacula not installed here): fine with scheduler: cron"; fi

# 3. Files: the unit, the env example, and the env file only if there is none.
ensure_file() { # SRC DEST MODE
  local dest=$root$2
  if [[ -f $dest ]] && cmp -s "$1" "$dest" && [[ $(stat -c '%a' "$dest") == "$3" ]]; then ok "$2"; return; fi
  do_ "install $2 (mode $3)" install -D -m "$3" "$1" "$dest"
}
ensure_file "$here/vmbackup.service" /etc/systemd/system/vmbackup.service 644
# The root side of scheduler: cron / systemd (the daemon cannot write /etc under its unit).
ensure_file "$here/vmbackup-schedule.path" /etc/systemd/system/vmbackup-schedule.path 644
ensure_file "$here/vmbackup-schedule.service" /etc/systemd/system/vmbackup-schedule.service 644
# Enabled the way `systemctl enable` does it (WantedBy=paths.target), which also works under --root.
wants=/etc/systemd/system/paths.target.wants/vmbackup-schedule.path
enable_path() { mkdir -p "${root}${wants%/*}" && ln -sfn /etc/systemd/system/vmbackup-schedule.path "$root$wants"; }
if [[ $(readlink "$root$wants" 2>/dev/null) == /etc/systemd/system/vmbackup-schedule.path ]]; then ok "vmbackup-schedule.path is enabled"
else do_ "enable vmbackup-schedule.path (link in ${wants%/*})" enable_path; fi
ensure_file "$here/vmbackup.env.example" /etc/vmbackup/vmbackup.env.example 644
install_env() { install -m 640 "$here/vmbackup.env.example" "$root/etc/vmbackup/vmbackup.env" && chgrp "$(id_of group vmbackup)" "$root/etc/vmbackup/vmbackup.env"; }
if [[ -e $root/etc/vmbackup/vmbackup.env ]]; then ok "/etc/vmbackup/vmbackup.env exists (left as it is)"
else do_ "create /etc/vmbackup/vmbackup.env from the example (edit VMBACKUP_REPO)" install_env; fi

dropin=$root/etc/systemd/system/vmbackup.service.d/10-no-bacula-group.conf
write_dropin() { mkdir -p "${dropin%/*}" && printf '[Service]\nSupplementaryGroups=\n' > "$dropin"; }
if ! has_group bacula; then
  if [[ -f $dropin ]]; then ok "${dropin#"$root"}"
  else do_ "write ${dropin#"$root"} (no bacula group: SupplementaryGroups= reset)" \
    write_dropin
  fi
fi

# 4. Checks that need a human.
[[ -x $root/usr/bin/vmbackup ]] || say "check: /usr/bin/vmbackup is missing: npm install -g --prefix /usr ./vmbackup-<version>.tgz (from npm pack)"
[[ -d $root$storage ]] || say "check: backup storage $storage does not exist (mount it, or set ReadWritePaths= in a drop-in)"
if [[ -z $root && -d $storage ]] && ((!dry)) && command -v runuser >/dev/null && ! runuser -u vmbackup -- test -w "$storage"; then
  say "check: user vmbackup cannot write $storage (NFS export owner/anonuid, or chgrp vmbackup + g+w)"
fi

if ((changed)) && [[ -z $root ]] && ((!dry)) && [[ -d /run/systemd/system ]]; then
  systemctl daemon-reload
  # Started now; a stage the daemon wrote before is installed once by hand: systemctl start vmbackup-schedule.service
  systemctl start vmbackup-schedule.path
fi
((changed)) || say "nothing to change"

cat <<'EOF'

Next steps:
  1. Secrets (encrypted with the host key or TPM; a missing one is skipped at start):
       printf %s "$PASSWORD" | systemd-creds encrypt --name=bacula-dir-password - /etc/credstore.encrypted/bacula-dir-password
     likewise: bacula-fd-password bacula-sd-password bacula-catalog-password slack-failure-webhook
     slack-digest-webhook smtp-password webhook-hmac-secret git-credentials console-tokens
     The repo refers to them as {credential: NAME}. Check: systemd-creds decrypt --name=NAME FILE -
  2. The ssh key for the hypervisors: /etc/vmbackup/ssh/id_ed25519 (root:vmbackup, mode 0640)
  3. Edit /etc/vmbackup/vmbackup.env (VMBACKUP_REPO), then:
       systemctl enable --now vmbackup && curl -s 127.0.0.1:9478/readyz
EOF
