/**
 * Bad input, generated: at least 500 malformed scenario files and bad command lines. Each must give one
 * line naming what is wrong and where, exit 2 (ScenarioError/UsageError), no stack trace, and nothing
 * written. Generated from a seeded PRNG so a failure can be replayed.
 */
import { readdir } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { ExitCode, ScenarioError } from '../src/core/errors.js';
import { createRng } from '../src/load/plan.js';
import { parseScenario } from '../src/load/scenario.js';
import { tempDir } from './helpers.js';

const VALID = {
  name: 'fuzz',
  description: 'valid base',
  warmupClients: 10,
  cycles: 3,
  clients: 10,
  concurrency: 5,
  arrivalRate: 0,
  control: false,
  mix: [
    { behaviour: 'leave-after-events', events: 3, weight: 1 },
    { behaviour: 'stall-then-leave', afterEvents: 1, stallMs: 10, weight: 1 },
  ],
  steadyLoad: null,
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const BAD_VALUES: Json[] = [-1, -1e9, 1e12, 1.5, Number.MAX_SAFE_INTEGER * 4, 'ten', '', true, null, [], {}, [1, 2], { x: 1 }];

/** One mutation that makes VALID invalid, with the field path it breaks. */
function mutate(rng: () => number): { json: Json; field: string } {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
  const doc = structuredClone(VALID) as unknown as { [key: string]: Json };
  const kind = pick(['top-value', 'missing', 'unknown', 'mix-value', 'mix-unknown', 'behaviour', 'mix-shape', 'name'] as const);
  switch (kind) {
    case 'top-value': {
      const field = pick(['warmupClients', 'cycles', 'clients', 'concurrency', 'arrivalRate', 'control']);
      // A value that is invalid for that field: for booleans anything but a boolean, for counts anything
      // that is not an integer in range.
      let value = pick(BAD_VALUES);
      if (field === 'control' && typeof value === 'boolean') value = 'yes';
      if (field === 'warmupClients' && value === null) value = -5;
      if (field === 'arrivalRate' && (value === null || value === 1.5)) value = -3;
      doc[field] = value;
      return { json: doc, field };
    }
    case 'missing': {
      const field = pick(['name', 'cycles', 'clients', 'concurrency', 'mix', 'warmupClients']);
      delete doc[field];
      return { json: doc, field };
    }
    case 'unknown': {
      const field = pick(['clientz', 'Cycles', 'timeout', 'seed', '__proto__x']);
      doc[field] = 1;
      return { json: doc, field };
    }
    case 'mix-value': {
      const field = pick(['events', 'weight']);
      (doc.mix as { [key: string]: Json }[])[0]![field] = pick([-1, 0.5, 'many', null, 1e9, [], true]);
      if (field === 'weight' && (doc.mix as { [key: string]: Json }[])[0]!.weight === 0.5) {
        (doc.mix as { [key: string]: Json }[])[0]!.weight = -1;
      }
      return { json: doc, field: `mix[0].${field}` };
    }
    case 'mix-unknown': {
      (doc.mix as { [key: string]: Json }[])[1]!.events = 3; // stall-then-leave takes afterEvents, not events
      return { json: doc, field: 'mix[1].events' };
    }
    case 'behaviour': {
      (doc.mix as { [key: string]: Json }[])[0]!.behaviour = pick(['leave-later', '', 'COMPLETE', 7, null]);
      return { json: doc, field: 'mix[0].behaviour' };
    }
    case 'mix-shape': {
      doc.mix = pick([[], {}, 'all', null, [null], [[]], [{ weight: 1 }]] as Json[]);
      return { json: doc, field: 'mix' };
    }
    case 'name': {
      doc.name = pick(['Has Spaces', 'UPPER', '', 'x'.repeat(200), 'semi;colon', 42]);
      return { json: doc, field: 'name' };
    }
  }
}

function brokenJson(rng: () => number): string {
  const text = JSON.stringify(VALID);
  const cut = 1 + Math.floor(rng() * (text.length - 2));
  const variants = [text.slice(0, cut), text.replace('"cycles":3', '"cycles":3,,'), `${text}}`, text.replace(/"/, "'"), ''];
  return variants[Math.floor(rng() * variants.length)]!;
}

describe('bad scenario files (generated)', () => {
  it('accepts the valid base (so the mutations below are what breaks it)', () => {
    expect(parseScenario(JSON.stringify(VALID), '/fuzz/base.json').name).toBe('fuzz');
  });

  it('rejects 600 malformed files, each with one line naming the file and the field', () => {
    const rng = createRng(20261125);
    const failures: string[] = [];
    for (let i = 0; i < 600; i++) {
      const file = `/fuzz/case-${i}.json`;
      const isJsonCase = i % 5 === 4;
      const { text, field } = isJsonCase
        ? { text: brokenJson(rng), field: null }
        : (() => {
            const m = mutate(rng);
            return { text: JSON.stringify(m.json), field: m.field };
          })();
      try {
        parseScenario(text, file);
        failures.push(`case ${i} was accepted: ${text.slice(0, 200)}`);
      } catch (error) {
        if (!(error instanceof ScenarioError)) {
          failures.push(`case ${i} threw ${(error as Error).constructor.name}: ${(error as Error).message}`);
          continue;
        }
        const message = error.message;
        if (message.includes('\n')) failures.push(`case ${i}: more than one line: ${message}`);
        if (!message.startsWith(file)) failures.push(`case ${i}: does not start with the file: ${message}`);
        const fieldName = field?.split('.').pop()?.replace(/\[\d+\]$/, '');
        if (fieldName && !message.includes(fieldName.replace(/^__proto__x$/, '__proto__x'))) {
          failures.push(`case ${i}: does not name ${field}: ${message}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });
});

function fakeIo() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => (out += String(chunk)));
  stderr.on('data', (chunk) => (err += String(chunk)));
  return {
    io: { stdout: stdout as unknown as NodeJS.WriteStream, stderr: stderr as unknown as NodeJS.WriteStream, env: { NO_COLOR: '1' } },
    text: () => ({ out, err }),
  };
}

describe('bad command lines (generated)', () => {
  const numeric = ['--seed', '--upstream-tokens', '--upstream-interval-ms', '--start-timeout', '--settle-ms'];
  const badNumbers = ['-1', 'abc', '1.5', '1e99', '', '0x10', '99999999999'];
  const pairs = ['--expect', '--probe'];
  const badPairs = ['nobody=leak', 'old', '=clean', 'old=sometimes', 'a b=x', 'new=python'];
  const badTargets = ['old', '=node s.js', 'a b=node s.js', 'x=', 'x=  ', 'old=node s.js --builtin'];

  it('exits 2 with one line for every bad option value, writing nothing', async () => {
    const out = await tempDir('fuzz-cli');
    const cases: string[][] = [];
    for (const flag of numeric) for (const value of badNumbers) cases.push([flag, value]);
    for (const flag of pairs) for (const value of badPairs) cases.push([flag, value]);
    for (const value of badTargets) cases.push(['--target', value, '--builtin', 'node']);
    cases.push(['--path', 'http://192.168.1.1/x'], ['--path', 'relative/{id}'], ['--builtin', 'java'], ['--frobnicate'], ['-s', '/no/such/file.json'], ['-s', 'nonexistent-name']);
    // The request of a user target: every mistake is caught before the target starts.
    const badRequests = [
      ['--method', 'YEET'], ['--method', 'HEAD'], ['--header', 'nocolon'], ['--header', 'Connection: close'], ['--header', 'Bad Name: x'],
      ['--header', 'Authorization: Bearer ${LEAKCHECK_FUZZ_UNSET}'], ['--body', '@/no/such/body.json'], ['--framing', 'xml'],
      ['--curl', 'wget http://h/'], ['--curl', "curl 'http://h/"], ['--curl', 'curl -F a=b http://h/'], ['--curl', 'curl http://h/ | jq'],
      ['--curl', 'curl --frobnicate http://h/'], ['--curl', 'curl -d @x.json http://h/'], ['--curl', ''],
    ];
    for (const request of badRequests) cases.push(['--target', 'api=node s.js', ...request]);
    cases.push(['--method', 'POST'], ['--header', 'a: b']);
    const failures: string[] = [];
    for (const args of cases) {
      // '--seed 1e99' etc. must never reach a run: every case here is invalid before anything starts.
      const { io, text } = fakeIo();
      const code = await main(['node', 'streamer-leakcheck', 'run', '--out', out, '--no-progress', ...args], io);
      const { out: stdout, err } = text();
      const lines = err.trim().split('\n');
      if (code !== ExitCode.usage) failures.push(`${args.join(' ')}: exit ${code}`);
      if (lines.length !== 1 || !lines[0]) failures.push(`${args.join(' ')}: stderr was ${JSON.stringify(err)}`);
      if (/\bat .+:\d+:\d+/.test(err)) failures.push(`${args.join(' ')}: stack trace`);
      if (stdout !== '') failures.push(`${args.join(' ')}: wrote to stdout`);
    }
    expect(failures).toEqual([]);
    expect(cases.length).toBeGreaterThan(50);
    expect(await readdir(out)).toEqual([]);
  });
});


describe('bad config files (generated)', () => {
  const VALID_CONFIG = {
    targets: { api: { command: 'node server.js', expect: 'clean', probe: 'auto' }, worker: 'node worker.js' },
    builtin: ['node'],
    selfCheck: false,
    scenarios: ['mixed'],
    seed: 7,
    junit: 'leakcheck.xml',
    out: 'reports',
    open: false,
    budgets: { maxBytesPerDisconnect: 512, maxHandlesPerDisconnect: 0.01 },
    startTimeoutMs: 10_000,
    parallel: true,
  };
  /** Values no key of the config accepts in the place they are put (each key's own type is avoided). */
  const badFor: Record<string, Json[]> = {
    targets: [[], 'api=node s.js', 7, null, { api: 7 }, { api: { command: '' } }, { api: { command: 'x', expect: 'sometimes' } }, { api: { command: 'x', probe: 'python' } }, { api: { command: 'x', extra: 1 } }, { 'a b': 'x' }],
    builtin: ['node', [7], ['java'], {}, null],
    selfCheck: ['yes', 1, null, []],
    scenarios: ['mixed', [7], [''], {}, null],
    seed: [-1, 1.5, 'seven', 2 ** 31, null],
    junit: ['', 7, [], null],
    out: ['', 7, {}, null],
    open: ['true', 0, null],
    budgets: [[], 5, { maxBytes: 1 }, { maxBytesPerDisconnect: -1 }, { maxHandlesPerDisconnect: 'few' }, null],
    startTimeoutMs: [0, 99, 600_001, 'slow', 1.5, null],
    parallel: ['no', 1, null],
  };

  function mutateConfig(rng: () => number): { json: Json; key: string } {
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
    const doc = structuredClone(VALID_CONFIG) as unknown as { [key: string]: Json };
    if (rng() < 0.15) {
      const key = pick(['target', 'Targets', 'scenario', 'timeout', 'paralel']);
      doc[key] = 1;
      return { json: doc, key };
    }
    const key = pick(Object.keys(badFor));
    doc[key] = pick(badFor[key]!);
    return { json: doc, key };
  }

  it('accepts the valid base (so the mutations below are what breaks it)', async () => {
    const { parseConfig } = await import('../src/config.js');
    expect(parseConfig(VALID_CONFIG, 'leakcheck.config.json').seed).toBe(7);
  });

  it('rejects 400 malformed configs, each with one line naming the file and the key', async () => {
    const { parseConfig } = await import('../src/config.js');
    const rng = createRng(20261202);
    const failures: string[] = [];
    for (let i = 0; i < 400; i++) {
      const { json, key } = mutateConfig(rng);
      try {
        parseConfig(json, 'leakcheck.config.json');
        failures.push(`case ${i} was accepted: ${JSON.stringify(json).slice(0, 200)}`);
      } catch (error) {
        if (!(error instanceof ScenarioError)) {
          failures.push(`case ${i} threw ${(error as Error).constructor.name}: ${(error as Error).message}`);
          continue;
        }
        if (error.message.includes('\n')) failures.push(`case ${i}: more than one line: ${error.message}`);
        if (!error.message.startsWith(`leakcheck.config.json: ${key}`)) failures.push(`case ${i}: does not name ${key} first: ${error.message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('through the CLI: exit 2, one line, no stack trace, nothing started or written', async () => {
    const rng = createRng(7);
    const cwd = await tempDir('fuzz-config');
    const before = process.cwd();
    const failures: string[] = [];
    try {
      process.chdir(cwd);
      const { writeFile } = await import('node:fs/promises');
      for (let i = 0; i < 30; i++) {
        const { json, key } = mutateConfig(rng);
        await writeFile('leakcheck.config.json', i % 10 === 9 ? JSON.stringify(json).slice(0, 40) : JSON.stringify(json));
        const { io, text } = fakeIo();
        const code = await main(['node', 'streamer-leakcheck', 'run', '--no-progress'], io);
        const { out: stdout, err } = text();
        const lines = err.trim().split('\n');
        if (code !== ExitCode.usage) failures.push(`case ${i} (${key}): exit ${code}`);
        if (lines.length !== 1 || !lines[0]!.startsWith('streamer-leakcheck: leakcheck.config.json:')) failures.push(`case ${i} (${key}): stderr ${JSON.stringify(err)}`);
        if (/\bat .+:\d+:\d+/.test(err)) failures.push(`case ${i}: stack trace`);
        if (stdout !== '') failures.push(`case ${i}: wrote to stdout`);
      }
      expect((await readdir(cwd)).sort()).toEqual(['leakcheck.config.json']);
    } finally {
      process.chdir(before);
    }
    expect(failures).toEqual([]);
  });
});
