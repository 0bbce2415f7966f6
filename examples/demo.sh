#!/usr/bin/env bash
# The embedded demo: the example fleet as a real git repo with a bare remote, then a pull
# request that lowers a retention and adds a VM: validate, plan (what CI posts) and render.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
vmb() { node "$here/dist/src/main.js" "$@"; }
demo=$(mktemp -d "${TMPDIR:-/tmp}/vmbackup-demo.XXXXXX")
export GIT_AUTHOR_NAME=demo GIT_AUTHOR_EMAIL=demo@example.invalid GIT_COMMITTER_NAME=demo GIT_COMMITTER_EMAIL=demo@example.invalid
git init -q --bare "$demo/origin.git"
git clone -q "$demo/origin.git" "$demo/fleet" 2>/dev/null
cp -r "$here/examples/fleet/." "$demo/fleet/"
cd "$demo/fleet"
git symbolic-ref HEAD refs/heads/main
git add -A && git commit -qm "example fleet" && git push -q origin main

echo "== vmbackup validate (the example fleet, modelled on the six-hypervisor RHEL fleet)"
vmb validate --repo .

echo; echo "== a pull request: prod-db-01 keeps 4 weeks instead of 8, and prod-db-03 joins the critical tier"
git checkout -q -b pr/retention
sed -i '0,/retention_weeks: 8/s//retention_weeks: 4/' vm-list.yaml
printf '\n  - name: prod-db-03\n    hypervisor: hypervisor-01\n    labels: { tier: critical }\n' >> vms/dc1-services.yaml
git commit -qam "prod-db-01: 4 weeks of retention; add prod-db-03"

echo; echo "== vmbackup plan --base origin/main --format markdown   (exit 2 = changes)"
set +e; vmb plan --repo . --base origin/main --head HEAD --format markdown --now 2026-11-22T12:00:00Z; code=$?; set -e
echo "(plan exit code: $code)"

echo; echo "== vmbackup render --out $demo/out"
vmb render --repo . --out "$demo/out"
if command -v bacula-dir >/dev/null && [ -f /usr/share/dbconfig-common/data/bacula-director-sqlite3/install/sqlite3 ]; then
  echo; echo "== bacula-dir -t on the rendered config (a scratch catalog)"
  sed -i "s|WorkingDirectory = \"[^\"]*\"|WorkingDirectory = \"$demo/work\"|; s|PidDirectory = \"[^\"]*\"|PidDirectory = \"$demo/work\"|" "$demo/out/bacula-dir.conf"
  mkdir -p "$demo/work" && sqlite3 "$demo/work/bacula.db" < /usr/share/dbconfig-common/data/bacula-director-sqlite3/install/sqlite3
  bacula-dir -t -c "$demo/out/bacula-dir.conf" && echo "bacula-dir -t: OK"
fi
echo; echo "== $demo/out/vmbackup.cron"; cat "$demo/out/vmbackup.cron"

echo; echo "== backing up real VMs from examples/lab (the test lab: libvirt + qemu on this machine)"
if [[ $(id -u) -ne 0 || ! -f /var/tmp/vmbackup-lab/lab.json ]]; then
  echo "(skipped: needs root and the lab: sudo bash test/setup.sh)"
else
  lab=(--repo "$here/examples/lab" --state-dir "$demo/state")
  vmb validate --repo "$here/examples/lab"
  for vm in lab-agent hv1-vm1; do
    echo; echo "\$ vmbackup backup $vm"
    vmb backup "$vm" "${lab[@]}" --log-level warn
  done
  dir=$(ls -d /var/tmp/vmbackup-lab/storage/backup/local/lab-agent/*/ | grep -v partial | tail -1)
  echo; echo "== the backup directory $dir"
  ls -l "$dir"
  echo; echo "\$ sha256sum -c checksums.sha256"; (cd "$dir" && sha256sum -c checksums.sha256)
  echo; echo "== backup-metadata.json (excerpt)"
  node -e 'const m=require(process.argv[1]);console.log(JSON.stringify({backup_id:m.backup_id,method:m.method,consistency:m.consistency,durations_ms:m.durations_ms,total_size_bytes:m.total_size_bytes,files:m.files.map(f=>f.path)},null,2))' "$dir/backup-metadata.json"
  echo; echo "\$ vmbackup verify lab-agent"; vmb verify lab-agent "${lab[@]}" --log-level warn
  echo; echo "\$ vmbackup test-restore lab-agent   (boots the backup with no network, waits for its guest agent, removes it)"
  vmb test-restore lab-agent "${lab[@]}" --log-level warn

  echo; echo "== the daemon, once: examples/lab as a git repo (plus hv2 and its shut-off hv2-vm2, whose policy does not allow offline backups)"
  git init -q --bare "$demo/lab-origin.git"
  git clone -q "$demo/lab-origin.git" "$demo/lab-repo" 2>/dev/null
  node - "$here/examples/lab/lab.yaml" "$demo/lab-repo/lab.yaml" <<'JS'
const fs = require('node:fs');
const [src, dst] = process.argv.slice(2);
let s = fs.readFileSync(src, 'utf8');
s = s.replace('  backup:\n', '  notifications:\n    slack:\n      failure_webhook: { env: SLACK_FAILURE_WEBHOOK }\n      digest_webhook: { env: SLACK_DIGEST_WEBHOOK }\n  backup:\n');
s = s.replace('\npolicies:', '  - name: hv2\n    address: 10.250.0.12\n    transport: ssh\n    ssh: { user: root, identity: /var/tmp/vmbackup-lab/ssh/id_ed25519 }\n    storage_root: /mnt/backup\n    min_free_gb: 1\n\npolicies:');
s += '  - name: hv2-vm2\n    hypervisor: hv2\n    policy: standard\n    method: snapshot\n    priority: 9\n';
fs.writeFileSync(dst, s);
JS
  (cd "$demo/lab-repo" && git symbolic-ref HEAD refs/heads/main && git add -A && git commit -qm "lab fleet" && git push -q origin main)
  node "$here/examples/capture-webhook.mjs" "$demo/slack.jsonl" > "$demo/slack.url" &
  receiver=$!
  trap 'kill $receiver 2>/dev/null || true' EXIT
  for _ in $(seq 50); do [[ -s "$demo/slack.url" ]] && break; sleep 0.1; done
  url=$(cat "$demo/slack.url")
  echo "\$ vmbackup daemon --repo $demo/lab-origin.git --state-dir $demo/daemon --once   (Slack: a local receiver at $url)"
  VMBACKUP_ALLOW_PLAINTEXT_HTTP=1 SLACK_FAILURE_WEBHOOK="$url/failures" SLACK_DIGEST_WEBHOOK="$url/digest" \
    vmb daemon --repo "$demo/lab-origin.git" --state-dir "$demo/daemon" --once --listen off --cron-file "$demo/vmbackup.cron" --log-level fatal || true
  echo; echo "== the status commit the daemon pushed"
  git -C "$demo/lab-origin.git" log -1 --stat --format='%h %an: %s' main
  echo; echo "== status/summary.yaml (excerpt)"
  git -C "$demo/lab-origin.git" show main:status/summary.yaml | head -25
  echo; echo "== what Slack would have received ($demo/slack.jsonl)"
  node -e 'const fs = require("fs"); if (!fs.existsSync(process.argv[1])) { console.log("(nothing: no run failed or recovered in this pass; the lab storage already held a backup of hv2-vm2)"); process.exit(0); } for (const l of fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean)) { const m = JSON.parse(l); console.log(m.path + ": " + m.body.text); console.log(JSON.stringify(m.body.blocks, null, 1).slice(0, 1500)); }' "$demo/slack.jsonl"

  echo; echo "== the console: the same daemon serving its API (/api/v1) and web pages (/ui); docs/api.md, docs/console.md"
  tokens="$demo/console-tokens"
  (umask 077 && : > "$tokens")
  jfield() { node -e 'process.stdout.write(String(JSON.parse(process.argv[1])[process.argv[2]]))' "$1" "$2"; }
  echo "\$ vmbackup daemon token --name demo-viewer --role viewer --json     (and demo-operator, operator)"
  minted=$(vmb daemon token --name demo-viewer --role viewer --json); viewer=$(jfield "$minted" token); jfield "$minted" line >> "$tokens"; echo >> "$tokens"
  minted=$(vmb daemon token --name demo-operator --role operator --json); operator=$(jfield "$minted" token); jfield "$minted" line >> "$tokens"; echo >> "$tokens"
  echo "the tokens stay in shell variables; $tokens (mode $(stat -c %a "$tokens")) holds only their SHA-256:"
  sed 's/sha256:\(.\{12\}\).*/sha256:\1…/' "$tokens"
  # A free port (the daemon takes port 0 too, but its log redacts the URL it listens on).
  port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { process.stdout.write(String(s.address().port)); s.close(); })')
  api="http://127.0.0.1:$port"
  echo "\$ vmbackup daemon --repo $demo/lab-origin.git --state-dir $demo/daemon --listen 127.0.0.1:$port --api-tokens $tokens &   (a free port)"
  VMBACKUP_ALLOW_PLAINTEXT_HTTP=1 SLACK_FAILURE_WEBHOOK="$url/failures" SLACK_DIGEST_WEBHOOK="$url/digest" \
    node "$here/dist/src/main.js" daemon --repo "$demo/lab-origin.git" --state-dir "$demo/daemon" --listen "127.0.0.1:$port" --api-tokens "$tokens" \
    --poll 3600 --cron-file "$demo/vmbackup.cron" --log-level info > "$demo/console-daemon.log" 2>&1 &
  daemon=$!
  trap 'kill $receiver 2>/dev/null || true; kill $daemon 2>/dev/null || true' EXIT
  for _ in $(seq 300); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$api/readyz") == 200 ]] && break
    kill -0 $daemon 2>/dev/null || { echo "the daemon exited:"; tail -20 "$demo/console-daemon.log"; exit 1; }
    sleep 0.2
  done
  [[ $(curl -s -o /dev/null -w '%{http_code}' "$api/readyz") == 200 ]] || { echo "the daemon was not ready within 60 s:"; tail -20 "$demo/console-daemon.log"; exit 1; }
  echo "listening on $api; /readyz: 200"
  summary='.vms[].status | "\(.vm) on \(.hypervisor): \(.observed), \(.restore_points | length) restore points (newest \(.restore_points | map(.id) | max // "-")), next due \(.next_due // "-")"'
  echo; echo "\$ curl -H 'Authorization: Bearer <viewer>' $api/api/v1/fleet | $(command -v jq >/dev/null && echo jq || echo node)   (one line per VM)"
  curl -sf -H "Authorization: Bearer $viewer" "$api/api/v1/fleet" > "$demo/fleet.json"
  if command -v jq >/dev/null; then jq -r "$summary" "$demo/fleet.json"
  else node -e 'for (const v of require(process.argv[1]).vms) { const s = v.status, ids = s.restore_points.map((p) => p.id).sort(); console.log(`${s.vm} on ${s.hypervisor}: ${s.observed}, ${ids.length} restore points (newest ${ids.at(-1) ?? "-"}), next due ${s.next_due ?? "-"}`); }' "$demo/fleet.json"; fi
  echo; echo "\$ curl -H 'Authorization: Bearer <viewer>' -d '{}' $api/api/v1/vms/lab-agent/backup   (a viewer may only read)"
  curl -s -o /dev/null -w 'HTTP %{http_code}\n' -H "Authorization: Bearer $viewer" -H 'content-type: application/json' -d '{}' "$api/api/v1/vms/lab-agent/backup"
  echo "\$ curl -H 'Authorization: Bearer <operator>' -d '{}' $api/api/v1/vms/lab-agent/backup"
  curl -s -H "Authorization: Bearer $operator" -H 'content-type: application/json' -d '{}' "$api/api/v1/vms/lab-agent/backup" > "$demo/action.json"
  id=$(node -e 'const a = require(process.argv[1]); if (!a.id) { console.error(JSON.stringify(a)); process.exit(1); } process.stdout.write(a.id)' "$demo/action.json")
  echo "202: action $id queued; following GET /api/v1/actions/$id"
  state=queued; last=
  for _ in $(seq 180); do
    curl -sf -H "Authorization: Bearer $viewer" "$api/api/v1/actions/$id" > "$demo/action.json"
    now=$(node -e 'const a = require(process.argv[1]); process.stdout.write(`${a.state} ${a.phase}${a.percent !== undefined ? " " + a.percent + "%" : ""}`)' "$demo/action.json")
    [[ $now != "$last" ]] && echo "  $now" && last=$now
    state=${now%% *}
    [[ $state == ok || $state == failed || $state == cancelled ]] && break
    sleep 0.25
  done
  [[ $state == ok ]] || { echo "the action did not end ok ($state):"; cat "$demo/action.json"; echo; exit 1; }
  echo; echo "\$ curl -H 'Authorization: Bearer <viewer>' '$api/api/v1/audit?since=$(date -u +%Y-%m)'   (this action's lines; also in $demo/daemon/audit/)"
  curl -sf -H "Authorization: Bearer $viewer" "$api/api/v1/audit?since=$(date -u +%Y-%m)" \
    | node -e 'let s = ""; process.stdin.on("data", (b) => { s += b; }).on("end", () => { for (const e of JSON.parse(s)) if (e.action_id === process.argv[1]) console.log(JSON.stringify(e)); })' "$id"
  echo; echo "== the web view: open $api/ui/ and sign in with a token (this daemon stops now; run your own with --api-tokens)"
  kill -TERM $daemon
  set +e; wait $daemon; code=$?; set -e
  echo "daemon stopped by SIGTERM (exit code $code)"
  rm -f -- "$tokens" "$demo/fleet.json" "$demo/action.json"
  kill $receiver 2>/dev/null || true
fi
echo; echo "demo files left in $demo"
