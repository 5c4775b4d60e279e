import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ScenarioError } from '../core/errors.js';
import {
  BEHAVIOUR_KINDS,
  listShippedScenarios,
  loadScenario,
  loadScenarios,
  parseScenario,
  resolveScenarioArg,
  SHIPPED_SCENARIOS_DIR,
} from './scenario.js';

const FILE = 'scenarios/x.json';

const VALID = {
  name: 'x',
  description: 'one line',
  warmupClients: 10,
  cycles: 4,
  clients: 60,
  concurrency: 5,
  arrivalRate: 0,
  control: false,
  mix: [
    { behaviour: 'leave-before-first-byte', weight: 1 },
    { behaviour: 'leave-after-events', events: 5, weight: 2 },
    { behaviour: 'leave-after-ms', ms: 30, weight: 2 },
    { behaviour: 'stall-then-leave', afterEvents: 2, stallMs: 100, weight: 1 },
    { behaviour: 'reset-after-events', events: 3, weight: 1 },
    { behaviour: 'complete', weight: 1 },
  ],
  steadyLoad: { connections: 4 },
};

/** VALID with `edit` applied (a field set to undefined is removed). */
function variant(edit: (s: Record<string, unknown> & { mix: Record<string, unknown>[] }) => void): string {
  const copy = structuredClone(VALID) as Record<string, unknown> & { mix: Record<string, unknown>[] };
  edit(copy);
  return JSON.stringify(copy, null, 2);
}

function errorOf(text: string): string {
  try {
    parseScenario(text, FILE);
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a ScenarioError');
}

describe('parseScenario', () => {
  it('reads a full scenario', () => {
    const scenario = parseScenario(JSON.stringify(VALID), FILE);
    expect(scenario.file).toBe(path.resolve(FILE));
    expect(scenario.mix.map((m) => m.behaviour)).toEqual([
      { kind: 'leave-before-first-byte' },
      { kind: 'leave-after-events', events: 5 },
      { kind: 'leave-after-ms', ms: 30 },
      { kind: 'stall-then-leave', afterEvents: 2, stallMs: 100 },
      { kind: 'reset-after-events', events: 3 },
      { kind: 'complete' },
    ]);
    expect(scenario.steadyLoad).toEqual({ connections: 4 });
  });

  it('defaults only description, arrivalRate, control and steadyLoad', () => {
    const scenario = parseScenario(
      variant((s) => {
        s.description = s.arrivalRate = s.control = s.steadyLoad = undefined;
      }),
      FILE,
    );
    expect(scenario).toMatchObject({ description: '', arrivalRate: 0, control: false, steadyLoad: null });
    expect(parseScenario(variant((s) => (s.steadyLoad = null)), FILE).steadyLoad).toBeNull();
  });

  const cases: [string, (s: Record<string, unknown> & { mix: Record<string, unknown>[] }) => void, string][] = [
    ['unknown field', (s) => (s.colour = 'red'), `${FILE}: colour: unknown field (expected one of: $schema, name, description, warmupClients, cycles, clients, concurrency, arrivalRate, control, mix, steadyLoad)`],
    ['near-miss field', (s) => (s.warmup_clients = 1), `${FILE}: warmup_clients: unknown field (did you mean "warmupClients"?)`],
    ['missing required', (s) => (s.cycles = undefined), `${FILE}: cycles: required: an integer from 2 to 50`],
    ['wrong type', (s) => (s.clients = '600'), `${FILE}: clients: must be an integer from 1 to 100000, got "600"`],
    ['non-integer', (s) => (s.concurrency = 2.5), `${FILE}: concurrency: must be an integer from 1 to 2000, got 2.5`],
    ['negative', (s) => (s.warmupClients = -1), `${FILE}: warmupClients: must be an integer from 0 to 1000000, got -1`],
    ['absurd', (s) => (s.cycles = 1000), `${FILE}: cycles: must be an integer from 2 to 50, got 1000`],
    ['bad name', (s) => (s.name = 'Mixed One'), `${FILE}: name: must contain only lowercase letters, digits and '-', got "Mixed One"`],
    ['two-line description', (s) => (s.description = 'a\nb'), `${FILE}: description: must be one line`],
    ['bad boolean', (s) => (s.control = 'yes'), `${FILE}: control: must be true or false, got "yes"`],
    ['mix not an array', (s) => (s.mix = {} as never), `${FILE}: mix: must be a non-empty array, got an object`],
    ['empty mix', (s) => (s.mix = []), `${FILE}: mix: must have at least one entry`],
    ['zero total weight', (s) => s.mix.forEach((m) => (m.weight = 0)), `${FILE}: mix: total weight must be greater than 0`],
    ['unknown behaviour', (s) => (s.mix[1]!.behaviour = 'leave-sometimes'), `${FILE}: mix[1].behaviour: must be one of ${BEHAVIOUR_KINDS.join(', ')}, got "leave-sometimes"`],
    ['bad events', (s) => (s.mix[1]!.events = -3), `${FILE}: mix[1].events: must be an integer from 1 to 100000, got -3`],
    ['missing param', (s) => (s.mix[3]!.stallMs = undefined), `${FILE}: mix[3].stallMs: required: an integer from 0 to 600000`],
    ['ms too large', (s) => (s.mix[2]!.ms = 600_001), `${FILE}: mix[2].ms: must be an integer from 0 to 600000, got 600001`],
    ['param of another behaviour', (s) => (s.mix[2]!.events = 3), `${FILE}: mix[2].events: unknown field (expected one of: behaviour, weight, ms)`],
    ['missing weight', (s) => (s.mix[0]!.weight = undefined), `${FILE}: mix[0].weight: required: a number from 0 to 1000000`],
    ['negative weight', (s) => (s.mix[0]!.weight = -1), `${FILE}: mix[0].weight: must be a number from 0 to 1000000, got -1`],
    ['mix entry not an object', (s) => (s.mix[0] = 'complete' as never), `${FILE}: mix[0]: must be an object, got "complete"`],
    ['steadyLoad field', (s) => (s.steadyLoad = { connections: 0 }), `${FILE}: steadyLoad.connections: must be an integer from 1 to 1000, got 0`],
    ['control with leaving clients', (s) => (s.control = true), `${FILE}: mix[0].behaviour: a control scenario (control: true) may only use "complete", got "leave-before-first-byte"`],
  ];
  it.each(cases)('rejects %s with one line', (_label, edit, message) => {
    expect(errorOf(variant(edit))).toBe(message);
  });

  it('rejects a non-object root', () => {
    expect(errorOf('[1, 2]')).toBe(`${FILE}: must be an object, got an array`);
  });

  it('names line and column of invalid JSON', () => {
    expect(errorOf('{\n  "name": "x",\n  "cycles": }')).toBe(`${FILE}: not valid JSON at line 3, column 13: Unexpected token '}'`);
    expect(errorOf('{\n  "name": "x",\n}')).toBe(
      `${FILE}: not valid JSON at line 3, column 1: Expected double-quoted property name`,
    );
    expect(errorOf('')).toBe(`${FILE}: not valid JSON at line 1, column 1: unexpected end of file`);
    expect(errorOf('{"name": "x", "cycles": \'4\'}')).toBe(`${FILE}: not valid JSON at line 1, column 25: Unexpected token '''`);
  });
});

describe('shipped scenarios', () => {
  it('all parse, have unique names, and together use every behaviour', async () => {
    const files = await listShippedScenarios();
    expect(files.map((f) => path.basename(f))).toEqual(
      expect.arrayContaining(['mixed.json', 'control.json', 'before-first-byte.json', 'after-events.json', 'after-ms.json', 'stalled-reader.json', 'reset.json']),
    );
    const scenarios = await loadScenarios(files);
    const kinds = new Set(scenarios.flatMap((s) => s.mix.map((m) => m.behaviour.kind)));
    expect([...kinds].sort()).toEqual([...BEHAVIOUR_KINDS].sort());
    for (const scenario of scenarios) expect(path.basename(scenario.file)).toBe(`${scenario.name}.json`);
    expect(scenarios.find((s) => s.name === 'control')?.control).toBe(true);
  });
});

describe('resolveScenarioArg and loading', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'leakcheck-scenarios-'));
    await writeFile(path.join(dir, 'b.json'), JSON.stringify({ ...VALID, name: 'dup' }));
    await writeFile(path.join(dir, 'a.json'), JSON.stringify({ ...VALID, name: 'dup' }));
    await writeFile(path.join(dir, 'notes.txt'), 'ignored');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('maps names, all, folders and paths to files', async () => {
    expect(await resolveScenarioArg('mixed')).toEqual([path.join(SHIPPED_SCENARIOS_DIR, 'mixed.json')]);
    expect(await resolveScenarioArg('all')).toEqual(await listShippedScenarios());
    expect(await resolveScenarioArg(dir)).toEqual([path.join(dir, 'a.json'), path.join(dir, 'b.json')]);
    expect(await resolveScenarioArg(path.join(dir, 'b.json'))).toEqual([path.join(dir, 'b.json')]);
  });

  it('loads a file named twice once', async () => {
    const file = path.join(dir, 'a.json');
    expect((await loadScenarios([file, file])).map((s) => s.name)).toEqual(['dup']);
  });

  it('rejects an unknown name, a missing file and duplicate names', async () => {
    await expect(resolveScenarioArg('no-such-scenario')).rejects.toThrow(/^no-such-scenario: no such scenario file, folder or shipped scenario \(shipped: .*mixed.*\)$/);
    await expect(loadScenario(path.join(dir, 'missing.json'))).rejects.toThrow(/missing\.json: no such file$/);
    await expect(loadScenarios(await resolveScenarioArg(dir))).rejects.toThrow(/b\.json: name: "dup" is already the name of .*a\.json$/);
  });
});
