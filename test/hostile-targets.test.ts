/**
 * Targets hostile to their harness, each run for real with a clear outcome and nothing left running:
 * one that daemonizes out of its process group, one that also clears its environment (found by its
 * port and named), one that ignores SIGTERM, one that forks hundreds of children (some in sessions of
 * their own), one that floods stderr without newlines, one that closes every connection at once.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultRequest } from '../src/load/request.js';
import { parseScenario } from '../src/load/scenario.js';
import { runLeakcheck } from '../src/run/engine.js';
import type { TargetSpec } from '../src/targets/target.js';
import { processesMentioning } from './helpers.js';

const FIXTURE = path.resolve(__dirname, 'fixtures/hostile-server.mjs');

const short = parseScenario(
  JSON.stringify({
    name: 'short',
    warmupClients: 0,
    cycles: 2,
    clients: 40,
    concurrency: 10,
    mix: [{ behaviour: 'leave-after-events', events: 2, weight: 1 }],
  }),
  '/virtual/short.json',
);

/** Every process a test's target started carries its tag in its environment (or, once it cleared that, its argv). */
let tags: string[] = [];
afterEach(async () => {
  // Whatever a failing test left, it does not outlive it.
  for (const tag of tags) for (const pid of await processesMentioning(tag)) process.kill(pid, 'SIGKILL');
  tags = [];
});

function hostile(command: string, env: Record<string, string> = {}, probe: TargetSpec['probe'] = 'proc') {
  const tag = `hostile-${randomBytes(6).toString('hex')}`;
  tags.push(tag);
  const spec: TargetSpec = {
    name: 'hostile',
    origin: 'user',
    expect: 'clean',
    probe,
    command: command.replaceAll('FIXTURE', JSON.stringify(FIXTURE)).replaceAll('TAG', tag),
    args: [],
    shell: true,
    request: defaultRequest('/chat/stream/{id}'),
    workersGauge: false,
    env: { HOSTILE_TAG: tag, ...env },
  };
  return { spec, tag };
}

function run(spec: TargetSpec) {
  return runLeakcheck({
    targets: [spec],
    scenarios: [short],
    seed: 3,
    upstream: { tokens: 20, intervalMs: 5 },
    startTimeoutMs: 5000,
    settleMs: 50,
    snapshotDir: null,
  });
}

describe('hostile targets', () => {
  it('a server that daemonizes with setsid is judged, then stopped with the run', async () => {
    const { spec, tag } = hostile(`setsid ${process.execPath} FIXTURE & wait`);
    const report = await run(spec);
    expect(report.problems).toEqual([]);
    expect(report.targets[0]?.disconnects).toBeGreaterThanOrEqual(80);
    expect(await processesMentioning(tag)).toEqual([]);
  });

  it('one that also clears its environment is found by its port and named in the report', async () => {
    const { spec, tag } = hostile(`env -i PATH="$PATH" setsid ${process.execPath} FIXTURE --port "$PORT" --tag TAG & wait`);
    const report = await run(spec);
    const escaped = report.problems.filter((p) => p.code === 'LEAKCHECK_ESCAPED');
    const left = await processesMentioning(tag);
    expect(left).toHaveLength(1);
    expect(escaped).toHaveLength(1);
    expect(escaped[0]!.message).toContain(`pid ${left[0]} (`);
    expect(escaped[0]!.message).toMatch(/still listens on port \d+ after the target stopped/);
    expect(report.complete).toBe(false);
  });

  it('one that ignores SIGTERM is killed after the grace', async () => {
    const { spec, tag } = hostile(`exec ${process.execPath} FIXTURE`, { HOSTILE: 'ignore-sigterm' });
    const report = await run(spec);
    expect(report.problems).toEqual([]);
    expect(await processesMentioning(tag)).toEqual([]);
  });

  it('one that forks 300 children, 50 of them in sessions of their own, leaves none of them', async () => {
    const { spec, tag } = hostile(`exec ${process.execPath} FIXTURE`, { HOSTILE: 'fork', FORKS: '300', FORKS_SETSID: '50' });
    const report = await run(spec);
    expect(report.problems).toEqual([]);
    expect(report.targets[0]?.disconnects).toBeGreaterThanOrEqual(80);
    // Process groups end the 250; the marker in their environment ends the 50 that left.
    expect(await processesMentioning(tag)).toEqual([]);
  }, 60_000);

  it('one that floods stderr with 30 MB and no newline costs the harness a short line, not the flood', async () => {
    const { spec, tag } = hostile(`exec ${process.execPath} FIXTURE`, { HOSTILE: 'stderr-flood', FLOOD_MB: '30', FLOOD_LINES: '0' });
    const report = await run(spec);
    expect(report.problems).toEqual([]);
    expect(report.harness.rssPeakBytes - report.harness.rssStartBytes).toBeLessThan(30e6);
    expect(await processesMentioning(tag)).toEqual([]);
  }, 60_000);

  it('one that accepts and never sends headers is refused after the preflight bound; exit 3', async () => {
    const { spec, tag } = hostile(`exec ${process.execPath} FIXTURE`, { HOSTILE: 'no-headers' });
    const report = await run(spec);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatchObject({ code: 'LEAKCHECK_TARGET_START', target: 'hostile' });
    expect(report.problems[0]!.message).toMatch(/sent no response headers to GET \/chat\/stream\/\S+ within 5000 ms/);
    expect(report.targets[0]?.disconnects).toBe(0);
    expect(await processesMentioning(tag)).toEqual([]);
  });

  it('one that sends headers and then nothing is refused after the start timeout; exit 3', async () => {
    const { spec, tag } = hostile(`exec ${process.execPath} FIXTURE`, { HOSTILE: 'headers-only' });
    const report = await run(spec);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatchObject({ code: 'LEAKCHECK_TARGET_START', target: 'hostile' });
    expect(report.problems[0]!.message).toMatch(/sent response headers to GET \/chat\/stream\/\S+ and then no sse event within 5000 ms/);
    expect(report.targets[0]?.disconnects).toBe(0);
    expect(await processesMentioning(tag)).toEqual([]);
  });

  it('one that answers 200 with a plain JSON body is told it does not stream; exit 3', async () => {
    const { spec, tag } = hostile(`exec ${process.execPath} FIXTURE`, { HOSTILE: 'json-body' });
    const report = await run(spec);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]!.message).toMatch(/answers GET \/chat\/stream\/\S+ with one application\/json body of \d+ bytes .*, not a stream \(an OpenAI-style API streams with "stream": true in the body\)$/);
    expect(await processesMentioning(tag)).toEqual([]);
  });

  it('one that closes every connection at once is refused before any load; exit 3', async () => {
    const { spec, tag } = hostile(`exec ${process.execPath} FIXTURE`, { HOSTILE: 'close-at-once' });
    const report = await run(spec);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatchObject({ code: 'LEAKCHECK_TARGET_START', target: 'hostile' });
    expect(report.problems[0]!.message).toMatch(/preflight request GET \/chat\/stream\/\S+ failed/);
    expect(report.targets[0]?.disconnects).toBe(0);
    expect(await processesMentioning(tag)).toEqual([]);
  });
});
