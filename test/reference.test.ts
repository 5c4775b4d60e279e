/**
 * The reference pair end to end, as real processes on 127.0.0.1: old must be seen leaking a worker and
 * an upstream socket per mid-stream disconnect, for good; new must be seen clean. Runs the compiled
 * dist/src/reference/main.js (built in beforeAll).
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DebugVars, UpstreamStats } from '../src/reference/index.js';
import { REFERENCE_ENTRY } from '../src/reference/index.js';
import { ProcessSupervisor, type ManagedProcess } from '../src/targets/supervisor.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Clients that leave mid-stream, per server, and how many are connected at once. */
const DISCONNECTS = 200;
const CONCURRENCY = 50;
/** Token events a client reads before it leaves. */
const EVENTS_BEFORE_LEAVING = 3;
/**
 * Upstream stream: 600 tokens 5 ms apart = 3 s, far longer than a client stays (~15 ms) even on a
 * loaded machine: with 1 s streams, a stalled machine lets some clients "leave" after their stream has
 * already ended, so those workers finish (194 zombies of 200 seen).
 */
const UPSTREAM_TOKENS = 600;
const UPSTREAM_INTERVAL_MS = 5;
/**
 * The upstream hangs up on an idle kept-alive connection after this. Short, so the "still so later"
 * reading comes after the upstream has closed its end of every connection old left unread.
 */
const UPSTREAM_KEEP_ALIVE_MS = 1000;
/** First reading of old after the clients left. */
const FIRST_READING_DELAY_MS = 1000;
/**
 * Second reading of old, after the first: longer than the upstream stream (3 s) plus the upstream's
 * keep-alive (1 s), and undici's client keep-alive (4 s from the clients' start), so anything that
 * merely lingers is gone and what remains is held.
 */
const SECOND_READING_DELAY_MS = 4500;
/** new frees a worker within milliseconds of the abort; measured: back to baseline at the first poll. */
const NEW_SETTLES_WITHIN_MS = 1000;
/** A single client's stream must end within this, or the test fails instead of hanging. */
const CLIENT_TIMEOUT_MS = 10_000;
const LISTEN_TIMEOUT_MS = 10_000;

const supervisor = new ProcessSupervisor();
/** One kept-alive connection per server for /debug/vars reads: one steady handle, in every reading. */
const varsAgent = new Agent({ connections: 1, keepAliveTimeout: 60_000 });

interface Server {
  process: ManagedProcess;
  url: string;
}

/** Builds dist/ with tsc, through the supervisor like every child. */
async function startReference(name: string, args: string[]): Promise<Server> {
  const child = supervisor.spawn({ name, command: process.execPath, args: [REFERENCE_ENTRY, ...args] });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not listen: ${child.tail().join(' | ')}`)), LISTEN_TIMEOUT_MS);
    child.onLine((line, stream) => {
      const match = stream === 'stdout' ? /^listening on (http:\/\/\S+)$/.exec(line) : null;
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    void child.exited.then((exit) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${JSON.stringify(exit)}): ${child.tail().join(' | ')}`));
    });
  });
  return { process: child, url };
}

async function getJson<T>(url: string): Promise<T> {
  const response = await request(url, { dispatcher: varsAgent, headersTimeout: 5000, bodyTimeout: 5000 });
  expect(response.statusCode).toBe(200);
  return (await response.body.json()) as T;
}

const debugVars = (server: Server) => getJson<DebugVars>(`${server.url}/debug/vars`);
const upstreamStats = (server: Server) => getJson<UpstreamStats>(`${server.url}/debug/vars`);
const handles = (vars: DebugVars) => Object.values(vars.activeResources).reduce((sum, n) => sum + n, 0);
const sockets = (vars: DebugVars) => vars.activeResources.TCPSocketWrap ?? 0;

/** Reads EVENTS_BEFORE_LEAVING token events, then aborts: undici destroys the socket, a real close. */
async function leaveMidStream(url: string, dispatcher: Agent): Promise<void> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`client timed out on ${url}`)), CLIENT_TIMEOUT_MS);
  let left = false;
  try {
    const { statusCode, body } = await request(url, { signal: controller.signal, dispatcher });
    expect(statusCode).toBe(200);
    let text = '';
    for await (const chunk of body) {
      text += String(chunk);
      if ((text.match(/^event: token$/gm) ?? []).length >= EVENTS_BEFORE_LEAVING) {
        left = true;
        controller.abort();
        break;
      }
    }
    if (!left) throw new Error(`stream ${url} ended before ${EVENTS_BEFORE_LEAVING} events`);
  } catch (error) {
    if (!left) throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** DISCONNECTS clients, CONCURRENCY at a time, each with its own request id. */
async function disconnectMany(server: Server, prefix: string): Promise<void> {
  const clients = new Agent();
  try {
    for (let first = 0; first < DISCONNECTS; first += CONCURRENCY) {
      const batch = Array.from({ length: Math.min(CONCURRENCY, DISCONNECTS - first) }, (_, i) =>
        leaveMidStream(`${server.url}/chat/stream/${prefix}-${first + i}`, clients),
      );
      await Promise.all(batch);
    }
  } finally {
    // undici 7 opens a spare connection after each aborted request; destroying the agent closes them,
    // so the server's handle count shows what the server holds, not what this client keeps open.
    await clients.destroy();
  }
}

async function readWholeStream(url: string): Promise<string> {
  const { statusCode, body } = await request(url, { signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
  expect(statusCode).toBe(200);
  return body.text();
}

/** Polls `read` until `done` holds or `timeoutMs` passes; returns the last reading and when it held. */
async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number) {
  const startedAt = Date.now();
  let value = await read();
  for (let attempt = 0; attempt < 200 && !done(value) && Date.now() - startedAt < timeoutMs; attempt++) {
    await sleep(20);
    value = await read();
  }
  return { value, held: done(value), afterMs: Date.now() - startedAt };
}

let upstreamForOld: Server;
let upstreamForNew: Server;
let oldServer: Server;
let newServer: Server;

beforeAll(async () => {
  const upstreamArgs = (): string[] => [
    'upstream',
    '--tokens',
    String(UPSTREAM_TOKENS),
    '--interval-ms',
    String(UPSTREAM_INTERVAL_MS),
    '--keep-alive-ms',
    String(UPSTREAM_KEEP_ALIVE_MS),
  ];
  [upstreamForOld, upstreamForNew] = await Promise.all([
    startReference('upstream-old', upstreamArgs()),
    startReference('upstream-new', upstreamArgs()),
  ]);
  [oldServer, newServer] = await Promise.all([
    startReference('old', ['old', '--upstream', `${upstreamForOld.url}/v1`]),
    startReference('new', ['new', '--upstream', `${upstreamForNew.url}/v1`]),
  ]);
}, 60_000);

afterAll(async () => {
  await varsAgent.destroy();
  await supervisor.stopAll();
});

describe('old (the seed bug)', () => {
  it('keeps one worker and one upstream socket per mid-stream disconnect, for good', async () => {
    const baseline = await debugVars(oldServer);
    expect(baseline.liveWorkers).toBe(0);

    await disconnectMany(oldServer, 'old-leave');
    await sleep(FIRST_READING_DELAY_MS);
    const first = await debugVars(oldServer);
    await sleep(SECOND_READING_DELAY_MS);
    const later = await debugVars(oldServer);
    const upstream = await upstreamStats(upstreamForOld);
    console.info(
      `old after ${DISCONNECTS} disconnects: live workers ${first.liveWorkers} -> ${later.liveWorkers}, ` +
        `handles ${handles(baseline)} -> ${handles(first)} -> ${handles(later)}, ` +
        `heap used (no GC) ${((later.memstats.heapUsed - baseline.memstats.heapUsed) / 1024 / 1024).toFixed(1)} MB more; ` +
        `upstream: ${JSON.stringify(upstream)}`,
    );

    for (const reading of [first, later]) {
      expect(reading.liveWorkers).toBe(DISCONNECTS);
      expect(reading.activeStreams).toBe(DISCONNECTS);
      expect(handles(reading) - handles(baseline)).toBeGreaterThanOrEqual(DISCONNECTS);
      expect(sockets(reading) - sockets(baseline)).toBeGreaterThanOrEqual(DISCONNECTS);
    }
    // Nobody cancelled anything. Each answer (~90 KB) is larger than the socket buffers, so the upstream
    // itself is stuck: its writes wait for a reader that will never read (in production: an LLM stream
    // held open, generating nothing, for every zombie). Either it is still streaming or, where the
    // answer did fit, it finished and old holds the connection half-closed, unread.
    expect(upstream.streamsCancelled).toBe(0);
    expect(upstream.streamsCompleted + upstream.streamsInFlight).toBeGreaterThanOrEqual(DISCONNECTS);
  });

  // Heap retained per disconnect after a forced, settled GC is in test/reference-heap.test.ts (it needs
  // the probe injected at start).
});

describe('new (the fix)', () => {
  it('frees every worker and socket within a second, and cancels every upstream stream', async () => {
    const baseline = await debugVars(newServer);
    expect(baseline.liveWorkers).toBe(0);

    await disconnectMany(newServer, 'new-leave');
    const settled = await pollUntil(
      () => debugVars(newServer),
      (vars) => vars.liveWorkers === 0 && vars.activeStreams === 0 && handles(vars) <= handles(baseline),
      NEW_SETTLES_WITHIN_MS,
    );
    const upstream = await pollUntil(
      () => upstreamStats(upstreamForNew),
      (stats) => stats.streamsInFlight === 0,
      NEW_SETTLES_WITHIN_MS,
    );
    console.info(
      `new after ${DISCONNECTS} disconnects: settled ${settled.held} after ${settled.afterMs} ms, ` +
        `handles ${handles(baseline)} -> ${handles(settled.value)}; upstream: ${JSON.stringify(upstream.value)}`,
    );

    expect(settled.value.liveWorkers).toBe(0);
    expect(settled.value.activeStreams).toBe(0);
    expect(handles(settled.value)).toBeLessThanOrEqual(handles(baseline));
    expect(upstream.value.streamsInFlight).toBe(0);
    expect(upstream.value.streamsStarted).toBe(DISCONNECTS);
    expect(upstream.value.streamsCancelled).toBe(DISCONNECTS);
    expect(upstream.value.tokensAfterClientLeft).toBe(0);
  });
});

describe('both', () => {
  // Two processes, two upstreams: equal bytes also show the tokens are a pure function of the prompt.
  it('send the same bytes to a client that stays to the end', async () => {
    const [fromOld, fromNew] = await Promise.all([
      readWholeStream(`${oldServer.url}/chat/stream/full-1`),
      readWholeStream(`${newServer.url}/chat/stream/full-1`),
    ]);
    expect(fromOld).toBe(fromNew);
    expect((fromOld.match(/^event: token$/gm) ?? []).length).toBe(UPSTREAM_TOKENS);
    expect(fromOld.endsWith(`event: done\ndata: {"tokens":${UPSTREAM_TOKENS}}\n\n`)).toBe(true);
  });

  it('answer 404 on a wrong path and 409 on a request id that is streaming', async () => {
    for (const server of [oldServer, newServer]) {
      const wrong = await request(`${server.url}/chat/streams/x`);
      expect(wrong.statusCode).toBe(404);
      await wrong.body.dump();
    }
    // In old, an id whose client left is streaming forever.
    const zombie = await request(`${oldServer.url}/chat/stream/old-leave-0`);
    expect(zombie.statusCode).toBe(409);
    await zombie.body.dump();

    const controller = new AbortController();
    const first = await request(`${newServer.url}/chat/stream/busy-1`, { signal: controller.signal });
    const second = await request(`${newServer.url}/chat/stream/busy-1`);
    expect(first.statusCode).toBe(200);
    expect(second.statusCode).toBe(409);
    await second.body.dump();
    controller.abort();
    await first.body.dump().catch(() => {});
  });

  it('main.ts without an upstream URL exits 2 with one line on stderr', async () => {
    const child = supervisor.spawn({
      name: 'no-upstream',
      command: process.execPath,
      args: [REFERENCE_ENTRY, 'old'],
      env: { LLM_URL: '', OPENAI_BASE_URL: '' },
    });
    const exit = await child.exited;
    await sleep(50); // let the pipes deliver their last lines
    expect(exit).toEqual({ code: 2, signal: null });
    const stderr = child.tail('stderr', 40).filter((line) => line.trim() !== '');
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(/^error: old needs the upstream's base URL/);
    expect(child.tail('stdout', 40).filter((line) => line.trim() !== '')).toEqual([]);
  });

  it('old exits 0 on SIGTERM at once, zombie workers and all', async () => {
    expect((await debugVars(oldServer)).liveWorkers).toBeGreaterThanOrEqual(DISCONNECTS);
    const startedAt = Date.now();
    const exit = await oldServer.process.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - startedAt).toBeLessThan(1000);
  });
});
