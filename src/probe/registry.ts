/**
 * The probes a run can use, and how one is chosen for a target: the one named, or for 'auto' the first
 * in AUTO_ORDER that can read it (a Node agent that said hello, then a Python agent, then a Go server's
 * pprof, then /proc).
 */
import path from 'node:path';
import { PYTHON_METRICS } from '../analysis/index.js';
import { goProbe, GO_DESCRIPTION } from './go.js';
import type { ProbeHub } from './hub.js';
import { nodeProbe, NODE_DESCRIPTION } from './node.js';
import type { Probe, ProbeChoice, ProbeName, ProbeSession, ProbeSubject } from './probe.js';
import { procProbe, PROC_DESCRIPTION } from './proc.js';
import { pythonProbe, PYTHON_DESCRIPTION } from './python.js';
import { executableOf, nodeInspectorProbe } from './node-inspector.js';

/**
 * Most detail first; /proc reads anything with a pid, so it is last. The agents before pprof: both say
 * hello before the program runs, and Python's passes at once on a tree that runs no Python. Node before
 * Python keeps a Node server that a Python script launched (or the reverse) read as it always was.
 */
export const AUTO_ORDER: readonly ProbeName[] = ['node', 'python', 'go', 'proc'];

/** Each probe's description, for readers of results that have no run at hand (tests, renderers). */
export const PROBE_DESCRIPTIONS = { node: NODE_DESCRIPTION, python: PYTHON_DESCRIPTION, go: GO_DESCRIPTION, proc: PROC_DESCRIPTION } as const;

export type Probes = Readonly<Record<ProbeName, Probe>>;

export function createProbes(hub: ProbeHub): Probes {
  return { node: nodeProbe(hub), python: pythonProbe(hub), go: goProbe(), proc: procProbe() };
}

/**
 * The probes for a server that runs already: Node through its inspector, Go as for a started one, and
 * Python through /proc, because its agent is loaded at start-up only.
 */
export function createAttachProbes(): Probes {
  return { node: nodeInspectorProbe(), python: pythonAtStartOnly(), go: goProbe(), proc: procProbe() };
}

const PYTHON_NEEDS_START = 'the Python agent needs start-up injection (start it with --target to read its asyncio tasks)';

function pythonAtStartOnly(): Probe {
  const isPython = (subject: ProbeSubject) => {
    const executable = subject.pid === null ? null : executableOf(subject.pid);
    return executable !== null && /^python/.test(path.basename(executable));
  };
  return {
    ...PYTHON_PROBE_SHAPE,
    envFor: () => ({}),
    detect: async () => null,
    missing: (subject) => `${PYTHON_NEEDS_START}; use --probe ${subject.name}=proc`,
    declined: (subject) => (isPython(subject) ? PYTHON_NEEDS_START : null),
  };
}

/** The probes tried for a choice, in order. */
export function candidatesFor(choice: ProbeChoice, probes: Probes): Probe[] {
  return choice === 'auto' ? AUTO_ORDER.map((name) => probes[name]) : [probes[choice]];
}

/** What a target we start needs in its environment for every probe that may read it. */
export function probeEnv(choice: ProbeChoice, probes: Probes, label: string): Record<string, string> {
  return Object.assign({}, ...candidatesFor(choice, probes).map((probe) => probe.envFor(label))) as Record<string, string>;
}

const PYTHON_PROBE_SHAPE = { name: 'python', description: PYTHON_DESCRIPTION, metrics: PYTHON_METRICS } as const;

export type Attached = { probe: Probe; session: ProbeSession } | { problem: string };

/** Attaches the chosen probe to a listening target; a named probe that cannot read it is a problem line. */
export async function attachProbe(choice: ProbeChoice, probes: Probes, subject: ProbeSubject, startTimeoutMs: number): Promise<Attached> {
  const declined: string[] = [];
  for (const probe of candidatesFor(choice, probes)) {
    const session = await probe.detect(subject, { required: choice !== 'auto', startTimeoutMs });
    if (session) return { probe: described(probe, session, declined), session };
    if (choice !== 'auto') return { problem: probe.missing(subject) };
    const why = probe.declined?.(subject);
    if (why) declined.push(why);
  }
  return { problem: `no probe can read it (tried ${AUTO_ORDER.join(', ')})${declined.length > 0 ? `; ${declined.join('; ')}` : ''}` };
}

/**
 * The probe as this target's results describe it: with the runtime its agent said hello from, and, when
 * a probe before it declined a target of its runtime (Python under -I), why this one reads it instead.
 */
function described(probe: Probe, session: ProbeSession, declined: readonly string[]): Probe {
  const runtime = session.runtime;
  if (!runtime && declined.length === 0) return probe;
  const via = declined.length > 0 ? `${probe.description.via ?? `the ${probe.name} probe`}, because ${declined.join('; ')}` : probe.description.via;
  return { ...probe, description: { ...probe.description, via, ...(runtime ? { runtime } : {}) } };
}
