// The console benchmark's clients, node's fetch only: a closed-loop load of N concurrent GETs for a
// fixed time (latency of each, requests/s, non-200 answers), the web login that yields a session
// cookie, and the SSE fan-out: K event streams open, one act posted, when did each stream see it.

export interface LoadResult { latenciesMs: number[]; errors: number; firstError?: string; wallMs: number }

/** `concurrency` workers each send the next GET as soon as the previous answer's body is read. */
export async function load(url: string, headers: Record<string, string>, concurrency: number, durationMs: number): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const until = t0 + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < until) {
      const s = performance.now();
      try {
        const r = await fetch(url, { headers, redirect: 'manual' });
        await r.arrayBuffer();
        latenciesMs.push(performance.now() - s);
        if (r.status !== 200) { errors++; firstError ??= `HTTP ${r.status}`; }
      } catch (e) { errors++; firstError ??= (e as Error).message; }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { latenciesMs, errors, ...(firstError ? { firstError } : {}), wallMs: performance.now() - t0 };
}

/** POST /ui/login with the token as a same-origin form; returns the `vmb_session=…` cookie pair. */
export async function webLogin(base: string, token: string): Promise<string> {
  const r = await fetch(`${base}/ui/login`, {
    method: 'POST', redirect: 'manual', body: new URLSearchParams({ token }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
  });
  await r.arrayBuffer();
  const cookie = r.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith('vmb_session='));
  if (r.status !== 303 || !cookie) throw new Error(`web login: HTTP ${r.status}, no session cookie`);
  return cookie;
}

interface Stream { seen: Map<string, number>; close: () => void }

/** One GET /api/v1/events stream; records when each action id first appears in an event. */
async function openStream(base: string, token: string): Promise<Stream> {
  const ac = new AbortController();
  const r = await fetch(`${base}/api/v1/events`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: ac.signal });
  if (r.status !== 200 || !r.body) throw new Error(`GET /api/v1/events: HTTP ${r.status}`);
  const seen = new Map<string, number>();
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        const at = performance.now();
        buf += dec.decode(value, { stream: true });
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        for (const l of lines) {
          const m = /^id: ?(.+)$/.exec(l);
          if (m && !seen.has(m[1]!)) seen.set(m[1]!, at);
        }
      }
    } catch { /* aborted */ }
  })();
  return { seen, close: () => ac.abort() };
}

export interface FanoutRound { acceptedMs: number; allSeenMs: number; firstSeenMs: number; streams: number }

/**
 * Opens `streams` event streams, then per round posts `{}` to `actPath` as `operator` and waits
 * until every stream has seen the new action's id: times are ms after the POST was sent.
 */
export async function sseFanout(base: string, viewer: string, operator: string, actPath: string, streams: number, rounds: number): Promise<FanoutRound[]> {
  const open = await Promise.all(Array.from({ length: streams }, () => openStream(base, viewer)));
  const out: FanoutRound[] = [];
  try {
    await new Promise((r) => setTimeout(r, 300)); // the streams' initial events (queued/running actions) are through
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      const r = await fetch(`${base}${actPath}`, { method: 'POST', headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' }, body: '{}' });
      const acceptedMs = performance.now() - t0;
      const a = (await r.json()) as { id?: string };
      if (r.status !== 202 || !a.id) throw new Error(`POST ${actPath}: HTTP ${r.status} ${JSON.stringify(a)}`);
      const deadline = performance.now() + 10_000;
      while (open.some((s) => !s.seen.has(a.id!)) && performance.now() < deadline) await new Promise((res) => setTimeout(res, 2));
      const times = open.map((s) => s.seen.get(a.id!)).filter((x): x is number => x !== undefined).map((x) => x - t0);
      out.push({ acceptedMs, allSeenMs: times.length === streams ? Math.max(...times) : Infinity, firstSeenMs: Math.min(...times), streams: times.length });
      await new Promise((res) => setTimeout(res, 500));
    }
  } finally {
    for (const s of open) s.close();
  }
  return out;
}
