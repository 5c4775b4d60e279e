/**
 * The streamer's HTTP server, shared by old and new:
 *
 *   GET /chat/stream/:request_id  -> SSE (409 if that id is already streaming)
 *   GET /debug/vars               -> DebugVars
 *   anything else                 -> 404
 */
import http from 'node:http';
import { ChatManager } from './chat-manager.js';
import { readDebugVars } from './debug-vars.js';
import { handleStreamRequest, sendJson } from './handler.js';
import { LlmClient } from './llm-client.js';
import { ResponseStreamer } from './response-streamer.js';
import type { StreamerVariant } from './variant.js';

export interface StreamerServerOptions {
  variant: StreamerVariant;
  /** Base URL of the OpenAI-compatible upstream, e.g. http://127.0.0.1:41234/v1 */
  llmBaseUrl: string;
  model?: string;
}

export interface StreamerServer {
  server: http.Server;
  manager: ChatManager;
}

const STREAM_ROUTE = /^\/chat\/stream\/([^/]+)$/;

export function createStreamerServer(options: StreamerServerOptions): StreamerServer {
  const { variant } = options;
  const manager = new ChatManager(new ResponseStreamer(new LlmClient(options.llmBaseUrl, options.model), variant));

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/debug/vars' && req.method === 'GET') {
      sendJson(res, 200, readDebugVars(manager));
      return;
    }
    const match = STREAM_ROUTE.exec(path);
    if (!match?.[1]) {
      sendJson(res, 404, { error: `no route for ${req.method} ${path}` });
      return;
    }
    if (req.method !== 'GET') {
      sendJson(res, 405, { error: 'use GET' });
      return;
    }
    let requestId: string;
    try {
      requestId = decodeURIComponent(match[1]);
    } catch {
      sendJson(res, 400, { error: 'malformed request id' });
      return;
    }
    handleStreamRequest(res, requestId, { manager, variant }).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  return { server, manager };
}
