/**
 * `npm run bench`: the figures docs/measurements.md records, measured rather than asserted in timed tests.
 *
 *   1. time to both verdicts of the default run (`streamer-leakcheck run`), and the flake count over
 *      --runs consecutive runs (old must be leak and new clean every time);
 *   2. disconnects per second driven by our client vs a minimal undici abort loop, against the same
 *      server in the same process, alternating so neither gets the warmer machine;
 *   3. sensitivity: a planted leak of 256 B per disconnect must be called a leak; the same server with
 *      no leak must not.
 *   2b. (--only framing) the same for each framing (SSE, NDJSON, chunks): a POST with a bearer token and
 *      a JSON body against an OpenAI/Ollama-style server, our client vs a minimal undici loop sending it.
 *
 *   4. soak, 5. heap snapshot cost, 6. goroutine dump cost: a Go server with ~2000 goroutines, the
 *      dump (debug=2) against the count (debug=1), and how long the server stops answering meanwhile.
 *   7. faults: --fault-runs runs (default 50) interrupted with SIGINT at a random moment and as many
 *      killed with SIGKILL, with the reference pair and a user target that daemonized out of its
 *      process group; after each, every process carrying the run's mark is counted (the figure: 0).
 *
 *   8. python: the Python pair (`run --builtin python`) and the FastAPI leaky/fixed pair
 *      (test/fixtures/python/fastapi_app.py on Debian's uvicorn), --runs runs each (default 10): old leak
 *      and new clean every time, wall time, and the clean twins' figures the Python noise floors are set
 *      from (per-cycle change and slope of pending tasks, allocated blocks and GC-tracked objects).
 *   9. python-overhead: the CPU a Python server spends per disconnect read through /proc only, with the
 *      agent, and with the agent and tracemalloc (docs/measurements.md#python-tracemalloc).
 *  10. node-versions: the reference pair (`run --node`) on Node 20, 22 and 24 (22 and 24 from the npm
 *      registry into a cache, as test/node-versions.test.ts gets them), --runs runs each: verdicts and
 *      attribution (heap snapshots read, the retained groups and their paths).
 *  11. examples: each folder of examples/ run with its own leakcheck.config.json and the scenario of
 *      test/real-servers.test.ts, --runs runs each (default 10): every target's verdict, its expectation
 *      and upstream check met or not, wall time.
 *  12. stall: the default run on test/fixtures/stall-leak-server.py (a leak only stalled readers cause)
 *      and its fixed twin, --runs runs (default 5): the leaky's verdict, which arms leak and their tasks
 *      per disconnect, the mix's figure; the fixed twin's verdict; wall time.
 *
 * Options: --runs N (default 20; 10 for python and node-versions), --only
 * time|rate|framing|sensitivity|soak|snapshot|goroutine-dump|faults|python|python-overhead|node-versions|examples|stall
 * (repeatable), --sensitivity-runs N (default 5), --rounds N (python-overhead, default 3), --soak-clients
 * N (default 100 000), --sequential: time the default runs, and run the sensitivity pairs, with the
 * targets one after another (`run --no-parallel`) instead of side by side. python, python-overhead,
 * node-versions, examples and stall run only when --only names them: they need Debian's FastAPI, or the
 * npm registry, or take long (examples: ~1 min a run; stall ~1–2 min).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'undici';
import { PACKAGE_ROOT } from '../src/core/paths.js';
import { runBatch } from '../src/load/clients.js';
import { defaultRequest, type StreamRequest } from '../src/load/request.js';
import { loadScenarios, resolveScenarioArg } from '../src/load/scenario.js';
import { ProbeHub } from '../src/probe/hub.js';
import type { LeakcheckReport } from '../src/report/types.js';
import { runLeakcheck } from '../src/run/engine.js';
import { findFreePort, waitForPort } from '../src/targets/ports.js';
import { ProcessSupervisor } from '../src/targets/supervisor.js';
import { createProbes } from '../src/probe/registry.js';
import { startTarget } from '../src/targets/spawned.js';
import { builtinGoTarget, builtinPythonTarget, builtinTarget, type TargetSpec } from '../src/targets/target.js';
import { startUpstream } from '../src/targets/upstream.js';

const BIN = path.join(PACKAGE_ROOT, 'bin', 'streamer-leakcheck.js');
const CHAT_SERVER = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'chat-server.mjs');
const FIXTURE = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'planted-leak-server.mjs');

function argValue(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}
const only = process.argv.flatMap((arg, i) => (process.argv[i - 1] === '--only' ? [arg] : []));
const wants = (part: string) => only.length === 0 || only.includes(part);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function defaultRuns(runs: number): Promise<void> {
  const mode = process.argv.includes('--sequential') ? 'targets one after another' : 'targets side by side';
  console.log(`\n## 1. default run (${mode}): time to both verdicts, ${runs} consecutive runs`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'leakcheck-bench-'));
  const wallMs: number[] = [];
  let oldMissed = 0;
  let newMissed = 0;
  let failedRuns = 0;
  const newVerdicts: Record<string, number> = {};
  let extended = 0;
  let newStoppedClean = 0;
  const decided = { old: [] as number[], new: [] as number[] };
  const decidedMs = { old: [] as number[], new: [] as number[] };
  for (let i = 1; i <= runs; i++) {
    const json = path.join(dir, `run-${i}.json`);
    const started = Date.now();
    const code = await new Promise<number | null>((resolve) => {
      const args = ['run', '--seed', String(1000 + i), '--no-report', '--no-progress', '--json', json];
      if (process.argv.includes('--sequential')) args.push('--no-parallel');
      const child = spawn(process.execPath, [BIN, ...args], {
        stdio: 'ignore',
      });
      child.on('close', resolve);
    });
    const ms = Date.now() - started;
    wallMs.push(ms);
    try {
      const report = JSON.parse(await readFile(json, 'utf8')) as LeakcheckReport;
      const verdict = (name: string) => report.targets.find((t) => t.name === name)?.verdict ?? 'missing';
      if (verdict('old') !== 'leak') oldMissed++;
      // Saturating meets a clean expectation (bounded growth); the bench counts what breaks CI: a miss.
      if (!report.targets.find((t) => t.name === 'new')?.expectationMet) newMissed++;
      newVerdicts[verdict('new')] = (newVerdicts[verdict('new')] ?? 0) + 1;
      // More cycles than the scenario plans: an inconclusive verdict earned more (see EXTRA_CYCLES_SHARE).
      const planned = report.scenarios.find((sc) => sc.name === 'mixed')?.cycles;
      if (report.targets.some((t) => t.scenarios.some((sc) => planned !== undefined && sc.cyclesRun > planned))) extended++;
      if (report.targets.find((t) => t.name === 'new')?.scenarios.some(stoppedClean)) newStoppedClean++;
      for (const name of ['old', 'new'] as const) {
        const after = report.targets.find((t) => t.name === name)?.scenarios[0]?.decidedAfter;
        if (after) {
          decided[name].push(after.disconnects);
          decidedMs[name].push(after.ms);
        }
      }
      console.log(`run ${i}: exit ${code}, ${(ms / 1000).toFixed(1)} s, old=${verdict('old')} new=${verdict('new')}`);
      for (const t of report.targets) if (!t.expectationMet) console.log(`  ${t.name}: ${t.reason}`);
    } catch {
      failedRuns++;
      console.log(`run ${i}: exit ${code}, ${(ms / 1000).toFixed(1)} s, no report`);
    }
  }
  await rm(dir, { recursive: true, force: true });
  console.log(
    `wall time: median ${(median(wallMs) / 1000).toFixed(1)} s, max ${(Math.max(...wallMs) / 1000).toFixed(1)} s (target <= 20 s)`,
  );
  console.log(`flakes: old not leak ${oldMissed}/${runs}, new missed its clean expectation ${newMissed}/${runs}, runs without report ${failedRuns}`);
  console.log(`new's verdicts: ${Object.entries(newVerdicts).map(([v, n]) => `${v} ${n}`).join(', ')}`);
  for (const name of ['old', 'new'] as const) {
    if (decided[name].length === 0) continue;
    console.log(
      `${name} decided after: median ${median(decided[name])} disconnects (max ${Math.max(...decided[name])}), ${(median(decidedMs[name]) / 1000).toFixed(1)} s (max ${(Math.max(...decidedMs[name]) / 1000).toFixed(1)} s), warm-up included`,
    );
  }
  console.log(`over 20 s: ${wallMs.filter((ms) => ms > 20_000).length}/${runs}; runs with cycles added to an inconclusive series: ${extended}/${runs}`);
  console.log(`new stopped clean before its planned cycles: ${newStoppedClean}/${runs}`);
}

/** A scenario the early-clean rule ended (analysis/policy.ts, unmistakablyClean). */
function stoppedClean(scenario: { reason: string }): boolean {
  return scenario.reason.includes('every decisive metric under half its leak threshold');
}

/** A minimal undici abort loop: N concurrent requests, each leaving after `events` events (docs/measurements.md#driver-rate). */
async function minimalAbortLoop(origin: string, total: number, concurrency: number, events: number): Promise<number> {
  const pool = new Pool(origin, { connections: concurrency });
  let next = 0;
  let done = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < total) {
      const id = next++;
      const controller = new AbortController();
      try {
        const { body } = await pool.request({ path: `/chat/stream/minimal-${id}`, method: 'GET', signal: controller.signal });
        let seen = 0;
        for await (const chunk of body) {
          seen += String(chunk).split('\n\n').length - 1;
          if (seen >= events) break;
        }
        controller.abort();
        body.destroy();
        done++;
      } catch {
        // counted by `done` only
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return done / seconds;
}

async function disconnectRate(): Promise<void> {
  console.log('\n## 2. disconnects per second: our client vs a minimal undici abort loop (reference new, same run)');
  const supervisor = new ProcessSupervisor();
  const hub = await ProbeHub.start();
  try {
    const upstream = await startUpstream(supervisor, { tokens: 200, intervalMs: 5, startTimeoutMs: 10_000 });
    const target = await startTarget(builtinTarget('new'), {
      supervisor,
      probes: createProbes(hub),
      upstreamUrl: upstream.baseUrl,
      startTimeoutMs: 10_000,
      instance: 'bench',
    });
    const total = 3000;
    const concurrency = 50;
    const events = 5;
    const behaviours = Array.from({ length: total }, () => ({ kind: 'leave-after-events' as const, events }));
    const minimal: number[] = [];
    const ours: number[] = [];
    await minimalAbortLoop(target.origin, 500, concurrency, events); // warm both ends
    for (let round = 0; round < 3; round++) {
      minimal.push(await minimalAbortLoop(target.origin, total, concurrency, events));
      const outcome = await runBatch({ origin: target.origin, request: defaultRequest('/chat/stream/{id}') }, behaviours, {
        concurrency,
        arrivalRate: 0,
        idPrefix: `bench-${round}`,
      });
      ours.push((outcome.disconnects * 1000) / outcome.durationMs);
    }
    const m = median(minimal);
    const o = median(ours);
    console.log(`minimal loop: ${m.toFixed(0)} disconnects/s (rounds: ${minimal.map((x) => x.toFixed(0)).join(', ')})`);
    console.log(`runBatch:     ${o.toFixed(0)} disconnects/s (rounds: ${ours.map((x) => x.toFixed(0)).join(', ')})`);
    console.log(`ratio: ${(o / m).toFixed(2)} (target >= 0.8)`);
  } finally {
    await supervisor.stopAll();
    await hub.close();
  }
}

/**
 * The minimal loop sending a given POST and counting events as simply as it can (SSE blocks by "\n\n",
 * lines by "\n", chunks by arrival): what our client's framing and request rendering are measured against.
 */
async function minimalPostLoop(
  origin: string,
  request: { path: string; headers: Record<string, string>; body: string },
  count: (chunk: Buffer) => number,
  total: number,
  concurrency: number,
  events: number,
): Promise<number> {
  const pool = new Pool(origin, { connections: concurrency });
  let next = 0;
  let done = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < total) {
      next++;
      const controller = new AbortController();
      try {
        const { body } = await pool.request({ ...request, method: 'POST', signal: controller.signal });
        let seen = 0;
        for await (const chunk of body) {
          seen += count(chunk as Buffer);
          if (seen >= events) break;
        }
        controller.abort();
        body.destroy();
        done++;
      } catch {
        // counted by `done` only
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return done / seconds;
}

async function framingRate(): Promise<void> {
  console.log('\n## 2b. disconnects per second for each framing: a POST with a bearer token and JSON body, our client vs a minimal undici loop (same server, same run)');
  const supervisor = new ProcessSupervisor();
  try {
    const port = await findFreePort();
    const token = 'bench-token';
    const child = supervisor.spawn({ name: 'chat', command: process.execPath, args: [CHAT_SERVER], shell: false, env: { PORT: String(port), TOKEN: token, EVENTS: '200' } });
    if ((await waitForPort(port, { timeoutMs: 10_000, isAlive: () => child.running })) !== 'ready') throw new Error('chat server did not start');
    const origin = `http://127.0.0.1:${port}`;
    const body = JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'hello' }], stream: true });
    const routes = [
      ['sse', '/v1/chat/completions', (chunk: Buffer) => chunk.toString('latin1').split('\n\n').length - 1],
      ['ndjson', '/api/chat', (chunk: Buffer) => chunk.toString('latin1').split('\n').length - 1],
      ['chunks', '/api/text', () => 1],
    ] as const;
    const total = 3000;
    const concurrency = 50;
    const events = 5;
    const behaviours = Array.from({ length: total }, () => ({ kind: 'leave-after-events' as const, events }));
    for (const [framing, route, count] of routes) {
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'text/event-stream' };
      const request: StreamRequest = { method: 'POST', pathTemplate: route, headers, body, framing: 'auto' };
      const minimal: number[] = [];
      const ours: number[] = [];
      let found: string | null = null;
      await minimalPostLoop(origin, { path: route, headers, body }, count, 500, concurrency, events); // warm both ends
      for (let round = 0; round < 3; round++) {
        minimal.push(await minimalPostLoop(origin, { path: route, headers, body }, count, total, concurrency, events));
        const outcome = await runBatch({ origin, request }, behaviours, { concurrency, arrivalRate: 0, idPrefix: `${framing}-${round}` });
        found = outcome.framing;
        if (outcome.errors.total > 0) console.log(`  ${framing} round ${round}: ${outcome.errors.total} errors, e.g. ${outcome.errors.examples[0]}`);
        ours.push((outcome.disconnects * 1000) / outcome.durationMs);
      }
      const m = median(minimal);
      const o = median(ours);
      console.log(
        `${framing.padEnd(7)} (found ${found}): runBatch ${o.toFixed(0)}/s (${ours.map((x) => x.toFixed(0)).join(', ')}), ` +
          `minimal ${m.toFixed(0)}/s (${minimal.map((x) => x.toFixed(0)).join(', ')}), ratio ${(o / m).toFixed(2)} (target >= 0.8)`,
      );
    }
  } finally {
    await supervisor.stopAll();
  }
}

function planted(name: string, leakBytes: number): TargetSpec {
  return {
    name,
    origin: 'user',
    expect: leakBytes > 0 ? 'leak' : 'clean',
    probe: 'node',
    command: process.execPath,
    args: [FIXTURE],
    shell: false,
    request: defaultRequest('/chat/stream/{id}'),
    workersGauge: false,
    env: { LEAK_BYTES: String(leakBytes), EVENTS: '40' },
  };
}

async function sensitivity(runs: number): Promise<void> {
  console.log(`\n## 3. sensitivity: planted 256 B per disconnect vs none, mixed scenario, ${runs} runs`);
  const scenarios = await loadScenarios(await resolveScenarioArg('mixed'));
  let caught = 0;
  let falseAlarms = 0;
  let twinStoppedClean = 0;
  const twinDecided: number[] = [];
  for (let i = 1; i <= runs; i++) {
    const report = await runLeakcheck({
      targets: [planted('planted-256B', 256), planted('planted-0B', 0)],
      scenarios,
      seed: 500 + i,
      upstream: { tokens: 200, intervalMs: 5 },
      startTimeoutMs: 10_000,
      settleMs: 250,
      // As `run` does by default: side by side, each the other's neighbour on the CPU.
      parallel: !process.argv.includes('--sequential'),
    });
    const leaky = report.targets[0]!;
    const clean = report.targets[1]!;
    if (leaky.verdict === 'leak') caught++;
    if (clean.verdict === 'leak') falseAlarms++;
    if (clean.scenarios.some(stoppedClean)) twinStoppedClean++;
    const after = (t: typeof leaky) => t.scenarios[0]?.decidedAfter.disconnects ?? 0;
    twinDecided.push(after(clean));
    console.log(
      `run ${i}: 256 B -> ${leaky.verdict} (${leaky.heap.bytesPerDisconnect?.toFixed(0)} B/disconnect, after ${after(leaky)}), ` +
        `0 B -> ${clean.verdict} (${clean.heap.bytesPerDisconnect?.toFixed(0)} B/disconnect, after ${after(clean)})`,
    );
    // A miss or a false alarm is worth its reason: that is what the next tuning step reads.
    if (leaky.verdict !== 'leak') console.log(`  256 B: ${leaky.reason}`);
    if (clean.verdict === 'leak') console.log(`  0 B: ${clean.reason}`);
  }
  console.log(`caught ${caught}/${runs}; false alarms on the clean twin ${falseAlarms}/${runs}`);
  console.log(`clean twin stopped clean before its planned cycles ${twinStoppedClean}/${runs}, decided after a median ${median(twinDecided)} disconnects`);
}

/**
 * The harness must stay flat: 100 000 disconnects through runBatch against the reference new, with the
 * harness's own RSS and heap (after GC, when --expose-gc is given) read every 10 000.
 */
async function soak(total: number): Promise<void> {
  console.log(`\n## 4. soak: ${total} disconnects, the harness's own memory and sockets`);
  const supervisor = new ProcessSupervisor();
  const hub = await ProbeHub.start();
  const resources = () => process.getActiveResourcesInfo().filter((t) => t === 'TCPSocketWrap').length;
  try {
    const upstream = await startUpstream(supervisor, { tokens: 200, intervalMs: 5, startTimeoutMs: 10_000 });
    const target = await startTarget(builtinTarget('new'), { supervisor, probes: createProbes(hub), upstreamUrl: upstream.baseUrl, startTimeoutMs: 10_000, instance: 'soak' });
    const endpoint = { origin: target.origin, request: defaultRequest('/chat/stream/{id}') };
    const scenario = (await loadScenarios(await resolveScenarioArg('mixed')))[0]!;
    const { createRng, planBehaviours } = await import('../src/load/plan.js');
    const rng = createRng(99);
    const chunk = 10_000;
    const gc = (globalThis as { gc?: () => void }).gc;
    const started = Date.now();
    let done = 0;
    let firstHeap = 0;
    while (done < total) {
      const outcome = await runBatch(endpoint, planBehaviours(scenario.mix, chunk, rng), { concurrency: 50, arrivalRate: 0, idPrefix: `soak-${done}` });
      done += outcome.clients;
      gc?.();
      const memory = process.memoryUsage();
      firstHeap ||= memory.heapUsed;
      console.log(
        `${String(done).padStart(7)} clients: harness rss ${(memory.rss / 1e6).toFixed(1)} MB, heap ${(memory.heapUsed / 1e6).toFixed(1)} MB, ` +
          `sockets open ${resources()}, errors ${outcome.errors.total}, ${((outcome.disconnects * 1000) / outcome.durationMs).toFixed(0)} disconnects/s`,
      );
    }
    console.log(`soak: ${done} clients in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    await target.stop();
  } finally {
    await supervisor.stopAll();
    await hub.close();
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  console.log(`harness sockets still open after the soak: ${resources()}`);
}

/** A snapshot of a ~100 MB heap must neither kill the target nor take minutes (docs/measurements.md#heap-snapshot). */
async function snapshotCost(): Promise<void> {
  console.log('\n## 5. heap snapshot of a ~100 MB heap: time in the target, file size, time to read and diff');
  const supervisor = new ProcessSupervisor();
  const hub = await ProbeHub.start();
  const { mkdtemp, rm: remove } = await import('node:fs/promises');
  const { readHeapSnapshot } = await import('../src/probe/heap-snapshot.js');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'leakcheck-snap-'));
  try {
    const upstream = await startUpstream(supervisor, { tokens: 200, intervalMs: 5, startTimeoutMs: 10_000 });
    // The reference old after ~2300 disconnects: ~100 MB of heap in millions of small objects, the
    // realistic worst case (a few huge arrays would snapshot in no time).
    const target = await startTarget(builtinTarget('old'), { supervisor, probes: createProbes(hub), upstreamUrl: upstream.baseUrl, startTimeoutMs: 10_000, instance: 'snap' });
    const leave = Array.from({ length: 2300 }, () => ({ kind: 'leave-after-events' as const, events: 3 }));
    await runBatch({ origin: target.origin, request: defaultRequest('/chat/stream/{id}') }, leave, { concurrency: 50, arrivalRate: 0 });
    const sample = await target.sample();
    const [written] = await hub.snapshot(target.label, dir, 'big');
    const alive = target.process.running;
    const started = Date.now();
    const parsed = await readHeapSnapshot(written!.path);
    const readMs = Date.now() - started;
    const pathStarted = Date.now();
    parsed.retainerPath('Channel');
    console.log(
      `heap ${(sample.values.heapUsedBytes! / 1e6).toFixed(0)} MB: snapshot written in ${(written!.ms / 1000).toFixed(1)} s, ` +
        `${(written!.bytes / 1e6).toFixed(0)} MB on disk; target still alive: ${alive}; read in ${(readMs / 1000).toFixed(1)} s, ` +
        `retainer path in ${((Date.now() - pathStarted) / 1000).toFixed(1)} s`,
    );
  } finally {
    await supervisor.stopAll();
    await hub.close();
    await remove(dir, { recursive: true, force: true });
  }
}

/**
 * What a goroutine dump (debug=2: every stack, the runtime stops the world while it writes them) costs
 * against the count (debug=1: stacks aggregated), on go-old with ~2000 goroutines. "Pause": the slowest
 * of a stream of tiny requests to the same server during the reads (docs/measurements.md#goroutine-dump).
 */
/** Live processes whose environment or command line holds `mark` (zombies have neither). */
async function processesMarked(mark: string): Promise<number[]> {
  const { readdir: list, readFile: read } = await import('node:fs/promises');
  const found: number[] = [];
  for (const entry of await list('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const environ = await read(`/proc/${entry}/environ`, 'latin1').catch(() => '');
    const cmdline = await read(`/proc/${entry}/cmdline`, 'latin1').catch(() => '');
    if (environ.includes(mark) || cmdline.includes(mark)) found.push(Number(entry));
  }
  return found;
}

async function faults(runs: number): Promise<void> {
  console.log(`\n## 7. faults: ${runs} runs interrupted with SIGINT and ${runs} killed with SIGKILL at random moments`);
  const { createRng } = await import('../src/load/plan.js');
  const rng = createRng(20261202);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'leakcheck-faults-'));
  const tally: Record<string, { runs: number; left: number; exits: Record<string, number>; delaysMs: number[] }> = {};
  for (let i = 0; i < 2 * runs; i++) {
    const signal: NodeJS.Signals = i < runs ? 'SIGINT' : 'SIGKILL';
    const mark = `leakcheck-fault-${process.pid}-${i}`;
    const delayMs = Math.round(300 + rng() * 9700);
    const daemon = `setsid node ${JSON.stringify(FIXTURE)} & wait`;
    const child = spawn(
      process.execPath,
      [BIN, 'run', '--builtin', 'node', '--target', `daemon=${daemon}`, '--probe', 'daemon=proc', '--out', dir, '--no-progress', '--seed', String(i + 1)],
      { env: { ...process.env, FAULT_MARK: mark }, stdio: 'ignore' },
    );
    const exited = new Promise<string>((resolve) => child.on('exit', (code, sig) => resolve(sig ?? String(code))));
    const early = await Promise.race([exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), delayMs))]);
    if (early === null) child.kill(signal);
    const exit = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('no exit within 20 s'), 20_000))]);
    if (exit === 'no exit within 20 s') child.kill('SIGKILL');
    let left = await processesMarked(mark);
    for (let wait = 0; wait < 40 && left.length > 0; wait++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      left = await processesMarked(mark);
    }
    for (const pid of left) process.kill(pid, 'SIGKILL');
    const entry = (tally[signal] ??= { runs: 0, left: 0, exits: {}, delaysMs: [] });
    entry.runs++;
    entry.left += left.length;
    entry.delaysMs.push(delayMs);
    const key = early === null ? exit : `finished first (${exit})`;
    entry.exits[key] = (entry.exits[key] ?? 0) + 1;
    if (left.length > 0) console.log(`  run ${i} (${signal} after ${delayMs} ms): ${left.length} process(es) left: ${left.join(', ')}`);
  }
  for (const [signal, entry] of Object.entries(tally)) {
    console.log(
      `${signal}: ${entry.runs} runs, delays ${Math.min(...entry.delaysMs)}–${Math.max(...entry.delaysMs)} ms, ` +
        `processes left ${entry.left}; exits ${JSON.stringify(entry.exits)}`,
    );
  }
  await rm(dir, { recursive: true, force: true });
}

async function goroutineDumpCost(): Promise<void> {
  console.log('\n## 6. goroutine dump vs goroutine count on a Go server with ~2000 goroutines');
  const { buildGoReference } = await import('../src/targets/go-build.js');
  const { parseGoroutineProfile } = await import('../src/probe/go.js');
  const { parseGoroutineDump } = await import('../src/probe/goroutine-dump.js');
  const supervisor = new ProcessSupervisor();
  const hub = await ProbeHub.start();
  let pool: Pool | null = null;
  try {
    const binary = await buildGoReference();
    const upstream = await startUpstream(supervisor, { tokens: 200, intervalMs: 5, startTimeoutMs: 10_000 });
    const target = await startTarget(builtinGoTarget('old', binary), { supervisor, probes: createProbes(hub), upstreamUrl: upstream.baseUrl, startTimeoutMs: 10_000, instance: 'dump' });
    // Each disconnect leaves 3 goroutines on go-old (the worker and its upstream connection's two loops).
    const leave = Array.from({ length: 667 }, () => ({ kind: 'leave-after-events' as const, events: 3 }));
    await runBatch({ origin: target.origin, request: defaultRequest('/chat/stream/{id}') }, leave, { concurrency: 50, arrivalRate: 0 });
    const sample = await target.sample();
    pool = new Pool(target.origin, { connections: 1 });
    const ping = new Pool(target.origin, { connections: 1 });
    const reads = 20;
    for (const [name, path, parse] of [
      ['count (debug=1)', '/debug/pprof/goroutine?debug=1', (text: string) => parseGoroutineProfile(text).total],
      ['dump (debug=2)', '/debug/pprof/goroutine?debug=2', (text: string) => parseGoroutineDump(text).total],
    ] as const) {
      let pinging = true;
      let slowestPingMs = 0;
      const pinger = (async () => {
        while (pinging) {
          const started = performance.now();
          const response = await ping.request({ method: 'GET', path: '/chat/stream/' });
          await response.body.dump();
          slowestPingMs = Math.max(slowestPingMs, performance.now() - started);
        }
      })();
      const readMs: number[] = [];
      const parseMs: number[] = [];
      let bytes = 0;
      let total = 0;
      for (let i = 0; i < reads; i++) {
        const started = performance.now();
        const response = await pool.request({ method: 'GET', path });
        const text = await response.body.text();
        readMs.push(performance.now() - started);
        const parsed = performance.now();
        total = parse(text);
        parseMs.push(performance.now() - parsed);
        bytes = Buffer.byteLength(text);
      }
      pinging = false;
      await pinger;
      console.log(
        `${name}: ${total} goroutines (sample said ${sample.values.goroutines}), ${(bytes / 1e3).toFixed(0)} KB, read median ${median(readMs).toFixed(0)} ms ` +
          `(max ${Math.max(...readMs).toFixed(0)}), parse median ${median(parseMs).toFixed(1)} ms, slowest concurrent request ${slowestPingMs.toFixed(0)} ms`,
      );
    }
    const started = Date.now();
    const { readGoroutineDump } = await import('../src/probe/go.js');
    const dump = await readGoroutineDump(target.origin, pool);
    console.log(`readGoroutineDump() as the run calls it (settled): ${Date.now() - started} ms, ${dump.groups.length} groups`);
    await ping.close();
  } finally {
    await pool?.close();
    await supervisor.stopAll();
    await hub.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// Python and Node versions

const PYTHON_FIXTURES = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'python');
/** Debian's FastAPI and uvicorn are seen by this interpreter only. */
const SYSTEM_PYTHON = '/usr/bin/python3';
const UVICORN = `${SYSTEM_PYTHON} -m uvicorn fastapi_app:app --http h11 --port $PORT --log-level warning`;

interface CliRun {
  code: number | null;
  ms: number;
  report: LeakcheckReport | null;
}

/** One `streamer-leakcheck run` in its own process, as a user runs it: its exit code, wall time and report. */
async function cliRun(args: string[], options: { cwd?: string; json: string; env?: Record<string, string> }): Promise<CliRun> {
  const started = Date.now();
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [BIN, 'run', ...args, '--no-report', '--no-progress', '--json', options.json], {
      cwd: options.cwd ?? PACKAGE_ROOT,
      env: { ...process.env, ...options.env },
      stdio: 'ignore',
    });
    child.on('close', resolve);
  });
  const ms = Date.now() - started;
  const report = await readFile(options.json, 'utf8').then((text) => JSON.parse(text) as LeakcheckReport, () => null);
  return { code, ms, report };
}

/** Per-cycle changes (sample to sample of the judged series) and the slope of one metric of one target's first scenario. */
function cycleFigures(target: LeakcheckReport['targets'][number], key: string): { changes: number[]; perDisconnect: number | null } {
  const scenario = target.scenarios[0];
  if (!scenario) return { changes: [], perDisconnect: null };
  const values = scenario.samples.map((row) => (row as unknown as Record<string, number | undefined>)[key]);
  const changes: number[] = [];
  for (let i = 1; i < values.length; i++) {
    const [a, b] = [values[i - 1], values[i]];
    if (typeof a === 'number' && typeof b === 'number') changes.push(b - a);
  }
  return { changes, perDisconnect: scenario.metrics.find((m) => m.key === key)?.perDisconnect ?? null };
}

const PYTHON_FLOOR_METRICS = ['pendingTasks', 'allocatedBlocks', 'gcObjects'] as const;

async function pythonPairs(runs: number): Promise<void> {
  console.log(`\n## 8. python: the Python pair and the FastAPI pair, ${runs} runs each, mixed scenario, targets side by side`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'leakcheck-bench-py-'));
  const pairs = [
    { name: 'python pair', old: 'py-old', new: 'py-new', args: ['--builtin', 'python'], cwd: PACKAGE_ROOT },
    {
      name: 'FastAPI pair',
      old: 'fa-old',
      new: 'fa-new',
      args: ['--target', `fa-old=${UVICORN}`, '--expect', 'fa-old=leak', '--target', `fa-new=VARIANT=new ${UVICORN}`],
      cwd: PYTHON_FIXTURES,
    },
  ];
  try {
    for (const pair of pairs) {
      const wallMs: number[] = [];
      let oldLeak = 0;
      let newClean = 0;
      let noReport = 0;
      const oldTasks: number[] = [];
      const floors = new Map<string, { changes: number[]; slopes: number[] }>(PYTHON_FLOOR_METRICS.map((key) => [key, { changes: [], slopes: [] }]));
      for (let i = 1; i <= runs; i++) {
        const { code, ms, report } = await cliRun([...pair.args, '--seed', String(3000 + i)], { cwd: pair.cwd, json: path.join(dir, `${pair.old}-${i}.json`) });
        wallMs.push(ms);
        const old = report?.targets.find((t) => t.name === pair.old);
        const fixed = report?.targets.find((t) => t.name === pair.new);
        if (!old || !fixed) {
          noReport++;
          console.log(`${pair.name} run ${i}: exit ${code}, ${(ms / 1000).toFixed(1)} s, no report`);
          continue;
        }
        if (old.verdict === 'leak') oldLeak++;
        if (fixed.verdict === 'clean') newClean++;
        const tasks = old.scenarios[0]?.metrics.find((m) => m.key === 'pendingTasks')?.perDisconnect ?? NaN;
        if (Number.isFinite(tasks)) oldTasks.push(tasks);
        const top = old.scenarios[0]?.taskGrowth?.groups[0];
        const figures = PYTHON_FLOOR_METRICS.map((key) => {
          const { changes, perDisconnect } = cycleFigures(fixed, key);
          floors.get(key)!.changes.push(...changes);
          if (perDisconnect !== null) floors.get(key)!.slopes.push(perDisconnect);
          return `${key} ${changes.map((c) => (c > 0 ? `+${c}` : String(c))).join(' ')}`;
        });
        const oldRate = (key: string) => old.scenarios[0]?.metrics.find((m) => m.key === key)?.perDisconnect?.toFixed(1) ?? '-';
        console.log(
          `${pair.name} run ${i}: exit ${code}, ${(ms / 1000).toFixed(1)} s, ${pair.old}=${old.verdict} (${tasks.toFixed(2)} tasks, ` +
            `${oldRate('allocatedBlocks')} blocks, ${oldRate('gcObjects')} objects per disconnect` +
            `${top ? `, top group [${top.state}] ${top.function} at ${top.location}, created by ${top.createdBy}` : ', no task group'}) ` +
            `${pair.new}=${fixed.verdict}`,
        );
        console.log(`  ${pair.new} per cycle: ${figures.join('; ')}`);
        if (fixed.verdict !== 'clean') console.log(`  ${pair.new}: ${fixed.reason}`);
        if (old.verdict !== 'leak') console.log(`  ${pair.old}: ${old.reason}`);
        for (const problem of report!.problems) console.log(`  problem: ${JSON.stringify(problem).slice(0, 400)}`);
      }
      console.log(
        `${pair.name}: ${pair.old} leak ${oldLeak}/${runs}, ${pair.new} clean ${newClean}/${runs}, no report ${noReport}; ` +
          `wall median ${(median(wallMs) / 1000).toFixed(1)} s, max ${(Math.max(...wallMs) / 1000).toFixed(1)} s; ` +
          `${pair.old} tasks per disconnect ${Math.min(...oldTasks).toFixed(2)}–${Math.max(...oldTasks).toFixed(2)}`,
      );
      for (const [key, { changes, slopes }] of floors) {
        if (changes.length === 0) continue;
        const largest = Math.max(...changes.map(Math.abs));
        console.log(
          `  ${pair.new} ${key}: ${changes.length} cycles moved ${Math.min(...changes)}…+${Math.max(...changes)} (largest |change| ${largest}); ` +
            `slopes per disconnect ${Math.min(...slopes).toFixed(3)}…${Math.max(...slopes).toFixed(3)}`,
        );
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** utime + stime of a process, in ms (from /proc/<pid>/stat; clock ticks of 10 ms). */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name is in parentheses and may hold spaces: fields are counted after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerSecond = 100;
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}

/**
 * The agent's cost on the server: CPU (user + system) of the server process per disconnect over the same
 * load, read through /proc only (no agent), with the agent, and with the agent and tracemalloc (one frame),
 * alternated round by round so that none gets the quieter machine; and the CPU of one settled sample.
 */
async function pythonOverhead(rounds: number): Promise<void> {
  console.log(`\n## 9. python-overhead: server CPU per disconnect, /proc only vs the agent vs the agent with tracemalloc, ${rounds} rounds`);
  const { TRACEMALLOC_ENV } = await import('../src/probe/python.js');
  const supervisor = new ProcessSupervisor();
  const hub = await ProbeHub.start();
  const servers: Array<{ name: string; spec: (probe: 'proc' | 'python') => TargetSpec }> = [
    { name: 'py-new', spec: (probe) => ({ ...builtinPythonTarget('new', SYSTEM_PYTHON), probe }) },
    {
      name: 'fastapi (fixed)',
      spec: (probe) => ({
        name: 'fa-new',
        origin: 'user',
        expect: 'clean',
        probe,
        command: `exec ${UVICORN} --app-dir ${JSON.stringify(PYTHON_FIXTURES)}`,
        args: [],
        shell: true,
        request: defaultRequest('/chat/stream/{id}'),
        workersGauge: false,
        env: { VARIANT: 'new' },
      }),
    },
  ];
  const configs = [
    { name: '/proc only', probe: 'proc' as const, tracemalloc: '0' },
    { name: 'agent', probe: 'python' as const, tracemalloc: '0' },
    { name: 'agent + tracemalloc', probe: 'python' as const, tracemalloc: '1' },
  ];
  const warmUp = 200;
  const measured = 1000;
  try {
    const upstream = await startUpstream(supervisor, { tokens: 200, intervalMs: 5, startTimeoutMs: 10_000 });
    for (const server of servers) {
      const perDisconnect = new Map<string, number[]>(configs.map((c) => [c.name, []]));
      const rates = new Map<string, number[]>(configs.map((c) => [c.name, []]));
      const sampleCpu = new Map<string, number[]>(configs.map((c) => [c.name, []]));
      for (let round = 0; round < rounds; round++) {
        for (const config of round % 2 === 0 ? configs : [...configs].reverse()) {
          process.env[TRACEMALLOC_ENV] = config.tracemalloc;
          const target = await startTarget(server.spec(config.probe), {
            supervisor,
            probes: createProbes(hub),
            upstreamUrl: upstream.baseUrl,
            startTimeoutMs: 15_000,
            instance: `overhead-${round}-${config.probe}-${config.tracemalloc}`,
          }).finally(() => delete process.env[TRACEMALLOC_ENV]);
          try {
            const endpoint = { origin: target.origin, request: target.spec.request };
            const leave = (n: number) => Array.from({ length: n }, () => ({ kind: 'leave-after-events' as const, events: 3 }));
            await runBatch(endpoint, leave(warmUp), { concurrency: 50, arrivalRate: 0, idPrefix: `warm-${round}` });
            await target.sample();
            const pid = target.process.pid;
            const before = await cpuMs(pid);
            const outcome = await runBatch(endpoint, leave(measured), { concurrency: 50, arrivalRate: 0, idPrefix: `load-${round}` });
            // The producers of the last clients wind down after their client left: their CPU counts too.
            await new Promise((resolve) => setTimeout(resolve, 1500));
            const loaded = await cpuMs(pid);
            await target.sample();
            const sampled = await cpuMs(pid);
            perDisconnect.get(config.name)!.push((loaded - before) / Math.max(1, outcome.disconnects));
            rates.get(config.name)!.push((outcome.disconnects * 1000) / outcome.durationMs);
            sampleCpu.get(config.name)!.push(sampled - loaded);
          } finally {
            await target.stop();
          }
        }
      }
      const base = median(perDisconnect.get('/proc only')!);
      const agent = median(perDisconnect.get('agent')!);
      for (const config of configs) {
        const cpu = median(perDisconnect.get(config.name)!);
        console.log(
          `${server.name}, ${config.name.padEnd(20)}: ${cpu.toFixed(2)} ms CPU per disconnect (rounds ${perDisconnect.get(config.name)!.map((x) => x.toFixed(2)).join(', ')}), ` +
            `${median(rates.get(config.name)!).toFixed(0)} disconnects/s, one sample ${median(sampleCpu.get(config.name)!).toFixed(0)} ms CPU; ` +
            `${(cpu / base).toFixed(2)}x /proc only, ${(cpu / agent).toFixed(2)}x the agent`,
        );
      }
    }
  } finally {
    await supervisor.stopAll();
    await hub.close();
  }
}

async function nodeVersions(runs: number): Promise<void> {
  console.log(`\n## 10. node-versions: the reference pair (mixed, side by side) on Node 20, 22 and 24, ${runs} runs each`);
  const { nodeBinary } = await import('./node-binaries.js');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'leakcheck-bench-node-'));
  try {
    for (const major of [20, 22, 24]) {
      const node = process.version.startsWith(`v${major}.`) ? { version: process.version, path: process.execPath } : await nodeBinary(major);
      const wallMs: number[] = [];
      let oldLeak = 0;
      let newMet = 0;
      let attributed = 0;
      const newVerdicts: Record<string, number> = {};
      const roots: Record<string, number> = {};
      for (let i = 1; i <= runs; i++) {
        const { code, ms, report } = await cliRun(['--node', node.path, '--seed', String(4000 + i)], { json: path.join(dir, `node${major}-${i}.json`) });
        wallMs.push(ms);
        const old = report?.targets.find((t) => t.name === 'old');
        const fixed = report?.targets.find((t) => t.name === 'new');
        if (!old || !fixed) {
          console.log(`Node ${node.version} run ${i}: exit ${code}, ${(ms / 1000).toFixed(1)} s, no report`);
          continue;
        }
        if (old.verdict === 'leak') oldLeak++;
        if (fixed.expectationMet) newMet++;
        newVerdicts[fixed.verdict] = (newVerdicts[fixed.verdict] ?? 0) + 1;
        const attribution = old.scenarios[0]?.attribution;
        const retained = attribution?.retained ?? [];
        const paths = retained.flatMap((g) => (g.retainerPath ? [g.retainerPath.join(' ')] : []));
        if (retained.length > 0 && paths.length > 0) attributed++;
        for (const p of paths) {
          const root = p.includes('(Global handles)') ? '(Global handles)' : p.includes('ChatManager') ? 'through ChatManager' : 'other';
          roots[root] = (roots[root] ?? 0) + 1;
        }
        const runtime = old.scenarios[0]?.probeDescription.runtime;
        console.log(
          `Node ${node.version} run ${i}: exit ${code}, ${(ms / 1000).toFixed(1)} s, ${runtime}: old=${old.verdict} ` +
            `(${old.handles.perDisconnect?.toFixed(2)} handles, ${((old.heap.bytesPerDisconnect ?? 0) / 1000).toFixed(1)} KB heap per disconnect; ` +
            `retained: ${retained.slice(0, 4).map((g) => `${g.group} ${g.countPerDisconnect.toFixed(2)}`).join(', ') || old.scenarios[0]?.attributionProblem || 'none'}) ` +
            `new=${fixed.verdict}`,
        );
        if (paths[0]) console.log(`  first path: ${paths[0].slice(0, 200)}`);
        if (!fixed.expectationMet) console.log(`  new: ${fixed.reason}`);
      }
      console.log(
        `Node ${node.version}: old leak ${oldLeak}/${runs}, new met clean ${newMet}/${runs} (${Object.entries(newVerdicts).map(([v, n]) => `${v} ${n}`).join(', ')}), ` +
          `attribution with paths ${attributed}/${runs}; paths by root: ${JSON.stringify(roots)}; wall median ${(median(wallMs) / 1000).toFixed(1)} s, max ${(Math.max(...wallMs) / 1000).toFixed(1)} s`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The examples as a user checks them: each folder's config (its targets, request, expectations), the
 * end-to-end tests' scenario, no breakdown or snapshots (as the tests run them).
 */
async function examplesRuns(runs: number): Promise<void> {
  console.log(`\n## 11. examples: each example's leakcheck.config.json, ${runs} runs each, test/fixtures/real-server.json`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'leakcheck-bench-examples-'));
  const scenario = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'real-server.json');
  const env: Record<string, string> = { API_TOKEN: 'sk-bench-token' };
  try {
    for (const example of ['openai-compatible', 'ndjson', 'ai-sdk-usechat']) {
      const wallMs: number[] = [];
      const tally = new Map<string, { verdicts: Map<string, number>; met: number; upstream: Map<string, number> }>();
      let failed = 0;
      for (let i = 1; i <= runs; i++) {
        const { code, ms, report } = await cliRun(['-s', scenario, '--no-snapshots', '--no-breakdown', '--seed', String(5000 + i)], {
          cwd: path.join(PACKAGE_ROOT, 'examples', example),
          json: path.join(dir, `${example}-${i}.json`),
          env,
        });
        wallMs.push(ms);
        if (code !== 0) failed++;
        for (const target of report?.targets ?? []) {
          const seen = tally.get(target.name) ?? { verdicts: new Map(), met: 0, upstream: new Map() };
          seen.verdicts.set(target.verdict, (seen.verdicts.get(target.verdict) ?? 0) + 1);
          if (target.expectationMet && (target.upstreamCheck?.met ?? true)) seen.met++;
          const cancellation = target.scenarios[0]?.upstream?.cancellation ?? 'unknown';
          seen.upstream.set(cancellation, (seen.upstream.get(cancellation) ?? 0) + 1);
          tally.set(target.name, seen);
        }
        if (!report) console.log(`${example} run ${i}: exit ${code}, no report`);
      }
      const counts = (m: Map<string, number>) => [...m].map(([k, n]) => `${k} ${n}/${runs}`).join(', ');
      for (const [name, seen] of tally) {
        console.log(`${example} ${name}: ${counts(seen.verdicts)}; expectations met ${seen.met}/${runs}; upstream ${counts(seen.upstream)}`);
      }
      console.log(`${example}: exit 0 in ${runs - failed}/${runs}; wall median ${(median(wallMs) / 1000).toFixed(1)} s, max ${(Math.max(...wallMs) / 1000).toFixed(1)} s`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The default run (mixed, auto breakdown) on the stall-only leak and its fixed twin, as test/stall-leak.test.ts runs it. */
async function stallRuns(runs: number): Promise<void> {
  console.log(`\n## 12. stall: the default run on a leak only stalled readers cause, and its fixed twin, ${runs} runs`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'leakcheck-bench-stall-'));
  const server = JSON.stringify(path.join(PACKAGE_ROOT, 'test', 'fixtures', 'stall-leak-server.py'));
  const wallMs: number[] = [];
  const tally = { leakyLeak: 0, stallOnly: 0, fixedMet: 0 };
  const fixedVerdicts = new Map<string, number>();
  try {
    for (let i = 1; i <= runs; i++) {
      const { code, ms, report } = await cliRun(
        ['--seed', String(7000 + i), '--target', `leaky=python3 ${server}`, '--expect', 'leaky=leak', '--target', `fixed=VARIANT=fixed python3 ${server}`],
        { json: path.join(dir, `stall-${i}.json`) },
      );
      wallMs.push(ms);
      const [leaky, fixed] = report?.targets ?? [];
      const mix = leaky?.scenarios[0];
      const arms = mix?.breakdown ?? [];
      const leaking = arms.filter((arm) => arm.verdict === 'leak').map((arm) => arm.kind);
      if (leaky?.verdict === 'leak') tally.leakyLeak++;
      if (leaking.length === 1 && leaking[0] === 'stall-then-leave') tally.stallOnly++;
      if (fixed?.expectationMet) tally.fixedMet++;
      if (fixed) fixedVerdicts.set(fixed.verdict, (fixedVerdicts.get(fixed.verdict) ?? 0) + 1);
      const tasks = mix?.metrics.find((m) => m.key === 'pendingTasks');
      console.log(
        `run ${i}: exit ${code}, ${(ms / 1000).toFixed(1)} s; leaky ${leaky?.verdict ?? 'no report'} (mix ${tasks?.perDisconnect.toFixed(3) ?? '?'} tasks/disconnect, ` +
          `${mix?.cyclesRun ?? '?'} cycles; arms: ${arms.map((arm) => `${arm.kind} ${arm.verdict}${arm.handlesPerDisconnect ? ` ${arm.handlesPerDisconnect.toFixed(2)}` : ''}`).join(', ') || 'none'}); ` +
          `fixed ${fixed?.verdict ?? '?'}`,
      );
    }
    const verdicts = [...fixedVerdicts].map(([v, n]) => `${v} ${n}`).join(', ');
    console.log(
      `stall: leaky leak ${tally.leakyLeak}/${runs}, the stall the only leaking arm ${tally.stallOnly}/${runs}; fixed met clean ${tally.fixedMet}/${runs} (${verdicts}); ` +
        `wall median ${(median(wallMs) / 1000).toFixed(1)} s, max ${(Math.max(...wallMs) / 1000).toFixed(1)} s`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Sections that need more than this repository (Debian's FastAPI, the npm registry) run when named. */
const named = (part: string) => only.includes(part);
if (named('python')) await pythonPairs(argValue('--runs', 10));
if (named('python-overhead')) await pythonOverhead(argValue('--rounds', 3));
if (named('node-versions')) await nodeVersions(argValue('--runs', 10));
if (named('examples')) await examplesRuns(argValue('--runs', 10));
if (named('stall')) await stallRuns(argValue('--runs', 5));
if (wants('faults')) await faults(argValue('--fault-runs', 50));
if (wants('goroutine-dump')) await goroutineDumpCost();
if (wants('snapshot')) await snapshotCost();
if (wants('soak')) await soak(argValue('--soak-clients', 100_000));
if (wants('rate')) await disconnectRate();
if (wants('framing')) await framingRate();
if (wants('sensitivity')) await sensitivity(argValue('--sensitivity-runs', 5));
if (wants('time')) await defaultRuns(argValue('--runs', 20));
