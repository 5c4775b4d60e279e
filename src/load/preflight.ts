/**
 * One request to the stream route before any load, the same request the clients will send: a wrong
 * route or a crashing handler is a start failure with a clear message, not thousands of counted errors.
 */
import { request as undiciRequest, type Dispatcher } from 'undici';

import { RequestRenderer, type StreamRequest } from './request.js';

const PREFLIGHT_TIMEOUT_MS = 5000;

/** null when the route answers a stream; otherwise one line saying what is wrong and what to change. */
export async function preflight(origin: string, request: StreamRequest, signal?: AbortSignal): Promise<string | null> {
  const renderer = new RequestRenderer(request);
  const id = `preflight-${Date.now()}`;
  const path = renderer.path(id);
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, PREFLIGHT_TIMEOUT_MS);
  try {
    const response = await undiciRequest(`${origin}${path}`, {
      method: renderer.method as Dispatcher.HttpMethod,
      headers: renderer.headers(id),
      body: renderer.body(id),
      signal: controller.signal,
    });
    const type = String(response.headers['content-type'] ?? '');
    const status = response.statusCode;
    controller.abort();
    await response.body.dump().catch(() => {});
    if (status !== 200) return `answers ${status} on ${path} (set the stream route with --path)`;
    if (!type.includes('text/event-stream')) {
      return `answers ${path} with content-type "${type || 'none'}", not text/event-stream`;
    }
    return null;
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (timedOut) return `sent no response headers on ${path} within ${PREFLIGHT_TIMEOUT_MS} ms`;
    return `the preflight request to ${path} failed: ${(error as Error).message}`;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}
