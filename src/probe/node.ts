/**
 * The Node probe: an agent preloaded into every Node process of the target (NODE_OPTIONS --require)
 * says hello to the hub and answers settled samples (forced GCs until the heap stops falling) and heap
 * snapshots. Its evidence is a pair of heap snapshots, read and diffed into "what leaked" in a worker.
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { NODE_METRICS, NODE_HANDLES, NODE_HEAP_USED, type Verdict } from '../analysis/index.js';
import { InterruptedError, TargetStartError } from '../core/errors.js';
import type { ProbeDescription } from '../report/types.js';
import { attributeInWorker } from './attribution.js';
import type { ProbeHub } from './hub.js';
import type { Evidence, EvidenceOptions, Probe, ProbeSample, ProbeSession, ProbeSubject } from './probe.js';
import type { NodeProcessSample, SnapshotWritten } from './protocol.js';

export const NODE_DESCRIPTION: ProbeDescription = {
  via: null,
  heap: NODE_HEAP_USED,
  handles: NODE_HANDLES,
  overall: { bytes: NODE_HEAP_USED.key, handles: NODE_HANDLES.key },
  tableMetrics: ['heapUsedBytes', 'externalBytes', 'handles'],
  heapNote: null,
};

/** Resources the probe itself or the harness's pipes account for in every sample. */
const HARNESS_RESOURCE_TYPES = new Set(['PipeWrap']);

/** How long 'auto' waits for a Node agent after the port listens before trying the next probe. */
const AUTO_DETECT_MS = 500;

export function nodeProbe(hub: ProbeHub): Probe {
  return {
    name: 'node',
    description: NODE_DESCRIPTION,
    metrics: NODE_METRICS,
    envFor: (label) => hub.envFor(label),
    async detect(subject, { required, startTimeoutMs }) {
      // The agent says hello before the server's own code runs, so by the time the port listens it is
      // there; 'auto' waits only briefly before trying the next probe.
      const timeoutMs = required ? Math.max(1000, Math.min(startTimeoutMs, 10_000)) : AUTO_DETECT_MS;
      if (!(await hub.waitForAgents(subject.label, 1, timeoutMs, subject.isAlive))) return null;
      return new NodeSession(hub, subject);
    },
    missing: () => 'listens, but no Node process of it loaded the probe (is it a Node server started with NODE_OPTIONS intact?)',
  };
}

class NodeSession implements ProbeSession {
  constructor(
    private readonly hub: ProbeHub,
    private readonly subject: ProbeSubject,
  ) {}

  /** The Node the target runs on (a target's Node need not be the harness's: see `--node`). */
  get runtime(): string | undefined {
    return this.hub.agentsOf(this.subject.label)[0]?.version;
  }

  async sample(): Promise<ProbeSample> {
    const processSamples = await this.hub.sample(this.subject.label);
    if (processSamples.length === 0) {
      throw new TargetStartError(this.subject.name, 'no Node process of the target answers the probe any more');
    }
    return summedNodeSample(processSamples);
  }

  evidence(options: EvidenceOptions): Evidence | null {
    if (!options.directory) return null;
    return new HeapSnapshots((directory, stem) => this.hub.snapshot(this.subject.label, directory, stem), options.directory, options.name, options.signal);
  }

  async close(): Promise<void> {
    this.hub.forget(this.subject.label);
  }
}

/**
 * Settled samples of every Node process of a target, summed. Heap used leaves V8's compiled code and
 * bytecode out (kept as compiledCodeBytes, never judged): while V8 compiles and optimises, code grew
 * ~3× more than everything else on the reference `new`, bounded by the program's size, not its
 * traffic (docs/measurements.md#compiled-code).
 */
export function summedNodeSample(processSamples: readonly NodeProcessSample[]): ProbeSample {
  const breakdown: Record<string, number> = {};
  let heapUsedBytes = 0;
  let compiledCodeBytes = 0;
  let externalBytes = 0;
  let arrayBuffersBytes = 0;
  let rssBytes = 0;
  const processes: ProbeSample['processes'] = [];
  for (const s of processSamples) {
    heapUsedBytes += s.heapUsedBytes - s.compiledCodeBytes;
    compiledCodeBytes += s.compiledCodeBytes;
    externalBytes += s.externalBytes;
    arrayBuffersBytes += s.arrayBuffersBytes;
    rssBytes += s.rssBytes;
    let handles = 0;
    for (const [type, count] of Object.entries(s.resources)) {
      if (HARNESS_RESOURCE_TYPES.has(type)) continue;
      breakdown[type] = (breakdown[type] ?? 0) + count;
      handles += count;
    }
    processes.push({ pid: s.pid, heapUsedBytes: s.heapUsedBytes - s.compiledCodeBytes, rssBytes: s.rssBytes, handles });
  }
  const handles = Object.values(breakdown).reduce((a, b) => a + b, 0);
  return {
    values: { heapUsedBytes, compiledCodeBytes, externalBytes, arrayBuffersBytes, rssBytes, handles },
    breakdown,
    processes,
  };
}

/** Writes a heap snapshot of every Node process of a target as `<directory>/<stem>-<pid>.heapsnapshot`. */
export type TakeSnapshots = (directory: string, stem: string) => Promise<SnapshotWritten[]>;

/**
 * Heap snapshots: one at the start (kept from the warm-up's start when the baseline asks again), one at
 * the end of a leak only (a snapshot blocks the target ~1 s per 20 MB of heap, and only a leak is
 * attributed). The pair is read in a worker while the run goes on; the files the report does not name
 * are removed.
 */
export class HeapSnapshots implements Evidence {
  private startWritten: SnapshotWritten[] = [];
  private endWritten: SnapshotWritten[] = [];
  /** Why a snapshot could not be written (a full disk): said in place of "what leaked". */
  private failure: string | null = null;
  /** Written and not (yet) handed to an attribution: removed by discard(). */
  private readonly owned: SnapshotWritten[] = [];

  constructor(
    private readonly takeSnapshots: TakeSnapshots,
    private readonly directory: string,
    private readonly name: string,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** The snapshots of every process, or none (and the reason kept) when one could not be written. */
  private async take(which: string): Promise<SnapshotWritten[]> {
    const stem = `${this.name}-${which}`;
    try {
      const written = await this.takeSnapshots(this.directory, stem);
      this.owned.push(...written);
      return written;
    } catch (error) {
      if (this.signal?.aborted) throw error;
      this.failure ??= `a heap snapshot could not be written: ${error instanceof Error ? error.message : String(error)}`;
      // What a failed write left (a part of a file on a full disk) goes at once.
      const left = await readdir(this.directory).catch(() => [] as string[]);
      for (const file of left) if (file.startsWith(`${stem}-`)) await rm(path.join(this.directory, file), { force: true });
      return [];
    }
  }

  async start(): Promise<void> {
    if (this.startWritten.length === 0 && this.failure === null) this.startWritten = await this.take('start');
  }

  async end(verdict: Verdict): Promise<void> {
    if (verdict === 'leak' && this.startWritten.length > 0) this.endWritten = await this.take('end');
  }

  conclude(result: Parameters<Evidence['conclude']>[0], figures: { disconnectsSinceStart: number }): Promise<void> | null {
    if (this.failure !== null && result.verdict === 'leak') result.attributionProblem = this.failure;
    if (this.endWritten.length === 0) return null;
    const handedOver = this.owned.splice(0);
    // Keep only the snapshots the report refers to: the others hold server memory for no reader.
    const keepOnly = async (kept: readonly string[]) => {
      for (const written of handedOver) if (!kept.includes(path.basename(written.path))) await rm(written.path, { force: true });
    };
    const request = { start: this.startWritten, end: this.endWritten, disconnects: figures.disconnectsSinceStart };
    return attributeInWorker(request, this.signal).then(
      async (attribution) => {
        result.attribution = attribution;
        await keepOnly(attribution?.snapshots ?? []);
      },
      async (error: unknown) => {
        await keepOnly([]);
        // The verdict stands without "what leaked": say why it is missing rather than lose the run.
        if (error instanceof InterruptedError || this.signal?.aborted) {
          result.attributionProblem = 'the run stopped before the heap snapshots were read';
          throw error;
        }
        result.attributionProblem = error instanceof Error ? error.message : String(error);
      },
    );
  }

  async discard(): Promise<void> {
    for (const written of this.owned.splice(0)) await rm(written.path, { force: true });
  }
}
