import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHeapSnapshot, readHeapSnapshot, splitHeapSnapshot, type RawSnapshot } from './heap-snapshot.js';

const run = promisify(execFile);

describe('heap snapshot reader', () => {
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'leakcheck-heap-snapshot-'));
    file = path.join(dir, 'small.heapsnapshot');
    // A real snapshot, written by a real Node process holding 300 objects of a class of its own.
    const script = `class HeldByTest { constructor(i) { this.i = i; } }
globalThis.kept = new Map(); for (let i = 0; i < 300; i++) globalThis.kept.set(i, new HeldByTest(i));
require('node:v8').writeHeapSnapshot(${JSON.stringify(file)});`;
    await run(process.execPath, ['-e', script], { timeout: 30_000 });
  }, 40_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the same nodes, edges and strings from the bytes as JSON.parse does from the text', async () => {
    const bytes = await readFile(file);
    const split = splitHeapSnapshot(bytes, file);
    const parsed = JSON.parse(bytes.toString('utf8')) as RawSnapshot & { snapshot: { node_count: number } };
    expect(split.nodes.length).toBe(parsed.nodes.length);
    expect(split.edges.length).toBe(parsed.edges.length);
    expect(Array.from(split.nodes)).toEqual(parsed.nodes);
    expect(Array.from(split.edges)).toEqual(parsed.edges);
    expect(split.strings).toEqual(parsed.strings);
    expect(split.snapshot.meta).toEqual(parsed.snapshot.meta);
    expect(split.nodes.length / split.snapshot.meta.node_fields.length).toBe(parsed.snapshot.node_count);
  });

  it('counts the objects of a class and finds the path that holds them', async () => {
    const snapshot = await readHeapSnapshot(file);
    expect(snapshot.groups.get('HeldByTest')?.count).toBe(300);
    const steps = snapshot.retainerPath('HeldByTest');
    expect(steps?.[0]).toBe('(GC roots)');
    expect(steps?.join(' ')).toMatch(/kept → Map/);
    expect(steps?.at(-1)).toMatch(/→ HeldByTest$/);
    expect(snapshot.retainerPath('NoSuchGroup')).toBeNull();
  });

  it('sizes by doubling when the header gives no counts, and gets the same numbers', async () => {
    const text = (await readFile(file, 'utf8')).replace(/"node_count":\d+,?/, '').replace(/"edge_count":\d+,?/, '');
    const raw = splitHeapSnapshot(Buffer.from(text));
    const parsed = JSON.parse(text) as RawSnapshot;
    expect(Array.from(raw.nodes)).toEqual(parsed.nodes);
    expect(Array.from(raw.edges)).toEqual(parsed.edges);
    expect(parseHeapSnapshot(raw).groups.get('HeldByTest')?.count).toBe(300);
  });

  it('names the file and what is wrong with one that is cut short or not a snapshot', async () => {
    const bytes = await readFile(file);
    const cut = path.join(dir, 'cut.heapsnapshot');
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.indexOf('"edges":[') / 2)));
    await expect(readHeapSnapshot(cut)).rejects.toThrow(`${cut} is not a V8 heap snapshot: it ends inside a number array`);
    expect(() => splitHeapSnapshot(Buffer.from('{"hello":1}'), 'x.json')).toThrow('x.json is not a V8 heap snapshot: no "nodes" array');
    expect(() => splitHeapSnapshot(Buffer.from('{"snapshot":{},"nodes":[1]}'), 'y')).toThrow('y is not a V8 heap snapshot: no "snapshot.meta"');
    const negative = bytes.toString('utf8').replace('"nodes":[', '"nodes":[-');
    expect(() => splitHeapSnapshot(Buffer.from(negative), 'z')).toThrow(/z is not a V8 heap snapshot: unexpected "-" at byte \d+/);
  });
});
