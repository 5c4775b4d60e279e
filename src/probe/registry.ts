/**
 * The probes a run can use, and how one is chosen for a target: the one named, or for 'auto' the first
 * in AUTO_ORDER that can read it (a Node agent that said hello, then a Go server's pprof, then /proc).
 */
import { goProbe, GO_DESCRIPTION } from './go.js';
import type { ProbeHub } from './hub.js';
import { nodeProbe, NODE_DESCRIPTION } from './node.js';
import type { Probe, ProbeChoice, ProbeName, ProbeSession, ProbeSubject } from './probe.js';
import { procProbe, PROC_DESCRIPTION } from './proc.js';

/** Most detail first; /proc reads anything with a pid, so it is last. */
export const AUTO_ORDER: readonly ProbeName[] = ['node', 'go', 'proc'];

/** Each probe's description, for readers of results that have no run at hand (tests, renderers). */
export const PROBE_DESCRIPTIONS = { node: NODE_DESCRIPTION, go: GO_DESCRIPTION, proc: PROC_DESCRIPTION } as const;

export type Probes = Readonly<Record<ProbeName, Probe>>;

export function createProbes(hub: ProbeHub): Probes {
  return { node: nodeProbe(hub), go: goProbe(), proc: procProbe() };
}

/** The probes tried for a choice, in order. */
export function candidatesFor(choice: ProbeChoice, probes: Probes): Probe[] {
  return choice === 'auto' ? AUTO_ORDER.map((name) => probes[name]) : [probes[choice]];
}

/** What a target we start needs in its environment for every probe that may read it. */
export function probeEnv(choice: ProbeChoice, probes: Probes, label: string): Record<string, string> {
  return Object.assign({}, ...candidatesFor(choice, probes).map((probe) => probe.envFor(label))) as Record<string, string>;
}

export type Attached = { probe: Probe; session: ProbeSession } | { problem: string };

/** Attaches the chosen probe to a listening target; a named probe that cannot read it is a problem line. */
export async function attachProbe(choice: ProbeChoice, probes: Probes, subject: ProbeSubject, startTimeoutMs: number): Promise<Attached> {
  for (const probe of candidatesFor(choice, probes)) {
    const session = await probe.detect(subject, { required: choice !== 'auto', startTimeoutMs });
    if (session) return { probe, session };
    if (choice !== 'auto') return { problem: probe.missing(subject) };
  }
  return { problem: `no probe can read it (tried ${AUTO_ORDER.join(', ')})` };
}
