/**
 * Progress while a run works: on a TTY one live line rewritten in place; otherwise one plain line per
 * finished scenario, so CI logs show steady progress without carriage-return noise.
 */
import type { RunEvent } from '../run/engine.js';
import { verdictWord } from './figures.js';

export interface ProgressSink {
  onEvent(event: RunEvent): void;
  /** Clear the live line before the final report is printed. */
  close(): void;
}

export function createProgress(stream: NodeJS.WriteStream, mode: 'live' | 'lines' | 'off'): ProgressSink {
  if (mode === 'off') return { onEvent() {}, close() {} };
  // Targets run side by side: the live line shows where each one is, in the order they started.
  const status = new Map<string, { scenario: string; phase: string; clients: string }>();
  let liveShown = false;
  let lastDraw = 0;
  const draw = (force = false) => {
    if (mode !== 'live') return;
    const now = Date.now();
    // Redrawing on every finished client would cost more than the clients; 10 times a second is plenty.
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    const text = [...status].map(([target, s]) => [target, s.scenario, s.phase, s.clients].filter(Boolean).join(' · ')).join('  |  ');
    const width = stream.columns ? stream.columns - 1 : 100;
    stream.write(`\r\u001b[K${text.slice(0, width)}`);
    liveShown = true;
  };
  const clear = () => {
    if (liveShown) stream.write('\r\u001b[K');
    liveShown = false;
  };
  const line = (text: string) => {
    clear();
    stream.write(text + '\n');
    draw(true);
  };
  const update = (target: string, change: Partial<{ scenario: string; phase: string; clients: string }>) => {
    status.set(target, { ...(status.get(target) ?? { scenario: '', phase: '', clients: '' }), ...change });
  };
  return {
    onEvent(event) {
      switch (event.type) {
        case 'upstream-ready':
          update(event.target, { phase: 'upstream ready' });
          draw(true);
          break;
        case 'target-start':
          update(event.target, { scenario: event.scenario, phase: event.attached ? 'attaching' : 'starting', clients: '' });
          draw(true);
          break;
        case 'phase':
          update(event.target, { phase: event.phase === 'cycle' ? `cycle ${event.cycle}/${event.cycles}` : event.phase, clients: '' });
          draw(true);
          break;
        case 'progress':
          update(event.target, { clients: `${event.done}/${event.total} clients` });
          draw();
          break;
        case 'scenario-done': {
          const r = event.result;
          update(event.target, { phase: 'done', clients: '' });
          line(
            `${event.target} · ${r.scenario}: ${verdictWord(r.verdict)}${r.expectationMet ? '' : ` (expected ${r.expect})`} · decided after ${r.decidedAfter.disconnects} disconnects, ${(r.decidedAfter.ms / 1000).toFixed(1)} s · ${(r.durationMs / 1000).toFixed(1)} s in all`,
          );
          break;
        }
        case 'problem':
          line(`problem: ${event.problem.message}`);
          break;
      }
    },
    close: clear,
  };
}
