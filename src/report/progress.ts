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
  let where = '';
  let phase = '';
  let liveShown = false;
  let lastDraw = 0;
  const draw = (text: string, force = false) => {
    if (mode !== 'live') return;
    const now = Date.now();
    // Redrawing on every finished client would cost more than the clients; 10 times a second is plenty.
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
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
  };
  return {
    onEvent(event) {
      switch (event.type) {
        case 'upstream-ready':
          draw(`mock upstream ready at ${event.url}`, true);
          break;
        case 'target-start':
          where = `${event.target} · ${event.scenario}`;
          draw(`${where} · starting`, true);
          break;
        case 'phase':
          phase = event.phase === 'cycle' ? `cycle ${event.cycle}/${event.cycles}` : event.phase;
          draw(`${where} · ${phase}`, true);
          break;
        case 'progress':
          draw(`${where} · ${phase} · ${event.done}/${event.total} clients`);
          break;
        case 'scenario-done': {
          const r = event.result;
          line(
            `${event.target} · ${r.scenario}: ${verdictWord(r.verdict)}${r.expectationMet ? '' : ` (expected ${r.expect})`} · ${r.disconnects} disconnects · ${(r.durationMs / 1000).toFixed(1)} s`,
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
