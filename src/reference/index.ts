/**
 * The reference pair (the system under demonstration): a mock LLM upstream, the seed's leaking
 * streamer (old) and its fix (new), sharing everything but the two lines that matter.
 */
import { compiled } from '../core/paths.js';

export { Channel, ChannelClosedError, type ReceiveResult } from './channel.js';
export { createUpstreamServer, type UpstreamOptions, type UpstreamServer, type UpstreamStats } from './upstream.js';
export { createStreamerServer, type StreamerServer, type StreamerServerOptions } from './shared/server.js';
export type { DebugVars } from './shared/debug-vars.js';
export type { StreamEvent } from './shared/events.js';
export type { StreamerVariant } from './shared/variant.js';
export { createOldStreamerServer, oldStreamer } from './old/streamer.js';
export { createNewStreamerServer, newStreamer, sendEvent } from './new/streamer.js';

/** Absolute path of the compiled entry, dist/src/reference/main.js, also when this module runs from source. */
export const REFERENCE_ENTRY = compiled('reference/main.js');
