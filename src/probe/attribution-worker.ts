/**
 * Runs attribute() off the harness's event loop. Reading two snapshots of a leaking target's heap
 * takes seconds of CPU (~4 s for a 60 MB heap: docs/measurements.md#snapshot-reading); on the main thread that would freeze
 * every client of the targets still under load, so their "leave after 30 ms" would become "leave
 * after 4 s" and their figures would no longer be the scenario's.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attribute, type AttributionRequest } from './attribution.js';

const request = workerData as AttributionRequest;
attribute(request.start, request.end, request.disconnects).then(
  (attribution) => parentPort!.postMessage({ ok: true, attribution }),
  (error: unknown) => parentPort!.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) }),
);
