/**
 * GET /debug/vars, in the spirit of Go's expvar: the live-workers gauge (the goroutine count's
 * analogue), the manager's size, memory figures and the event loop's active resources by type.
 * Read as-is, without a GC: the probe takes the settled, post-GC readings.
 */
import type { ChatManager } from './chat-manager.js';

export interface DebugVars {
  /** Workers started and not returned: grows by one per mid-stream disconnect in old, stays 0 in new. */
  liveWorkers: number;
  /** Request ids in the chat manager. */
  activeStreams: number;
  memstats: { heapUsed: number; heapTotal: number; external: number; arrayBuffers: number; rss: number };
  /** `process.getActiveResourcesInfo()` counted by type: 'TCPSocketWrap', 'Timeout', … */
  activeResources: Record<string, number>;
}

export function readDebugVars(manager: ChatManager): DebugVars {
  const { heapUsed, heapTotal, external, arrayBuffers, rss } = process.memoryUsage();
  const activeResources: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) activeResources[type] = (activeResources[type] ?? 0) + 1;
  return {
    liveWorkers: manager.liveWorkers,
    activeStreams: manager.activeStreams,
    memstats: { heapUsed, heapTotal, external, arrayBuffers, rss },
    activeResources,
  };
}
