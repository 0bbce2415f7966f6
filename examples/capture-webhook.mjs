#!/usr/bin/env node
// A stand-in for Slack's incoming webhooks in the demo (no machine here reaches Slack): listens
// on 127.0.0.1, answers every POST like Slack ("ok"), and appends each JSON body to a file.
//   node examples/capture-webhook.mjs OUT.jsonl   → prints "http://127.0.0.1:PORT" on stdout
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';

const out = process.argv[2];
if (!out) { process.stderr.write('usage: capture-webhook.mjs OUT.jsonl\n'); process.exit(2); }
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    appendFileSync(out, JSON.stringify({ path: req.url, body: JSON.parse(body || 'null') }) + '\n');
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${server.address().port}\n`));
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => server.close(() => process.exit(0)));
