/**
 * The request and stream shapes of the LLM APIs that chat servers call, as the mock upstream speaks
 * them. One dialect per API: where it is served, how its request is read (prompt, model, token limit)
 * and how its stream is written (what comes before the first token, each token, what ends the stream).
 * Pure text in, text out: the server in upstream.ts owns sockets, timing and counters.
 *
 * Shapes follow the public API references and what the official SDKs parse:
 *   openai-chat         POST /v1/chat/completions  SSE `data:` chunks, then `data: [DONE]`
 *   openai-responses    POST /v1/responses         SSE `event: response.*`, ending `response.completed`
 *   anthropic-messages  POST /v1/messages          SSE `event: message_start` … `message_stop`
 *   ollama-chat         POST /api/chat             NDJSON, streaming by default, last line `"done": true`
 *   ollama-generate     POST /api/generate         NDJSON, the same, with `response` instead of `message`
 * Timestamps are fixed (FIXED_CREATED_*): the same prompt gives the same bytes, in every dialect.
 */
import type http from 'node:http';

export type UpstreamApi = 'openai-chat' | 'openai-responses' | 'anthropic-messages' | 'ollama-chat' | 'ollama-generate';

export const UPSTREAM_APIS: readonly UpstreamApi[] = [
  'openai-chat',
  'openai-responses',
  'anthropic-messages',
  'ollama-chat',
  'ollama-generate',
];

/** What a dialect reads from a request: the rest of the body is accepted and ignored. */
export interface ParsedRequest {
  model: string;
  /** Canonical text of everything the model was given; the tokens are a function of it alone. */
  prompt: string;
  /** The request's own cap on generated tokens, if it set one. */
  maxTokens?: number;
}

export type ParseResult = { ok: true; request: ParsedRequest } | { ok: false; status: number; message: string };

/** Why a stream ended: every token was produced, or the request's token cap was reached first. */
export type FinishReason = 'stop' | 'length';

export interface StreamStart {
  request: ParsedRequest;
  /** Stable per prompt: ids are derived from it. */
  seed: number;
  /** Pause between tokens, for the durations that Ollama reports. */
  intervalMs: number;
}

/** Writes one stream: stateful (sequence numbers, the text so far), one per response. */
export interface StreamWriter {
  head(): string;
  token(text: string): string;
  tail(reason: FinishReason): string;
}

export interface Dialect {
  api: UpstreamApi;
  path: string;
  contentType: string;
  parse(body: unknown, headers: http.IncomingHttpHeaders): ParseResult;
  /** The body of an error answer, shaped as this API shapes its errors. */
  errorBody(status: number, message: string): unknown;
  open(start: StreamStart): StreamWriter;
}

/** 2024-01-01T00:00:00Z: every `created` field, so that bytes depend on the prompt only. */
const FIXED_CREATED_SECONDS = 1_704_067_200;
const FIXED_CREATED_ISO = '2024-01-01T00:00:00Z';
const ONLY_STREAMS = 'this mock only streams';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(status: number, message: string): ParseResult {
  return { ok: false, status, message };
}

function hex8(seed: number): string {
  return seed.toString(16).padStart(8, '0');
}

/**
 * Text of a message's content: a string, or an array of parts of which the text ones count
 * (`{type:'text'|'input_text'|'output_text', text}`). Null when it is neither.
 */
function contentText(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return null;
  const texts: string[] = [];
  for (const part of content) {
    if (!isObject(part) || typeof part.type !== 'string') return null;
    if (typeof part.text === 'string') texts.push(part.text);
  }
  return texts.join('\n');
}

/** `role\ncontent` per message, blank-line separated, or a problem naming the first bad message. */
function messagesPrompt(messages: unknown, where: string): { prompt: string } | { problem: string } {
  if (!Array.isArray(messages) || messages.length === 0) return { problem: `${where} must be a non-empty array` };
  const parts: string[] = [];
  for (const [index, message] of messages.entries()) {
    const text = isObject(message) && typeof message.role === 'string' ? contentText(message.content) : null;
    if (text === null) return { problem: `${where}[${index}] needs a string role and a string (or text parts) content` };
    parts.push(`${(message as Json).role as string}\n${text}`);
  }
  return { prompt: parts.join('\n\n') };
}

function optionalLimit(value: unknown, name: string): { limit?: number } | { problem: string } {
  if (value === undefined || value === null) return {};
  if (!Number.isInteger(value) || (value as number) < 0) return { problem: `${name} must be a non-negative integer` };
  return { limit: value as number };
}

function modelOf(body: Json): string {
  return typeof body.model === 'string' && body.model !== '' ? body.model : 'mock-llm';
}

function sse(data: unknown, event?: string): string {
  return `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
}

/** Whitespace-separated words: a deterministic stand-in for a tokenizer's count. */
function wordCount(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

const openAiChat: Dialect = {
  api: 'openai-chat',
  path: '/v1/chat/completions',
  contentType: 'text/event-stream',
  parse(body) {
    if (!isObject(body)) return fail(400, 'body must be a JSON object');
    const messages = messagesPrompt(body.messages, 'messages');
    if ('problem' in messages) return fail(400, messages.problem);
    if (body.stream !== true) return fail(400, `${ONLY_STREAMS}: set "stream": true`);
    const limit = optionalLimit(body.max_completion_tokens ?? body.max_tokens, 'max_tokens');
    if ('problem' in limit) return fail(400, limit.problem);
    return { ok: true, request: { model: modelOf(body), prompt: messages.prompt, maxTokens: limit.limit } };
  },
  errorBody: (status, message) => ({ error: { message, type: status === 401 ? 'authentication_error' : 'invalid_request_error' } }),
  open({ seed }) {
    const id = `chatcmpl-${hex8(seed)}`;
    // Token chunks only, no role chunk and no finish_reason chunk: the reference streamers (Node and
    // Go) count every chunk with a delta as an event, and their event counts must stay as they are.
    return {
      head: () => '',
      token: (text) => sse({ id, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: text } }] }),
      tail: () => 'data: [DONE]\n\n',
    };
  },
};

/** Responses API input: a string, or a list of messages (`{role, content}`, `type: 'message'` optional). */
function responsesPrompt(body: Json): { prompt: string } | { problem: string } {
  const parts: string[] = [];
  if (typeof body.instructions === 'string') parts.push(`system\n${body.instructions}`);
  if (typeof body.input === 'string') {
    if (body.input === '') return { problem: 'input must not be empty' };
    parts.push(`user\n${body.input}`);
    return { prompt: parts.join('\n\n') };
  }
  if (!Array.isArray(body.input) || body.input.length === 0) return { problem: 'input must be a string or a non-empty array of messages' };
  for (const [index, item] of body.input.entries()) {
    if (!isObject(item)) return { problem: `input[${index}] must be an object` };
    // Items other than messages (function calls and their outputs, reasoning) carry no prompt text here.
    if (item.type !== undefined && item.type !== 'message') continue;
    const text = typeof item.role === 'string' ? contentText(item.content) : null;
    if (text === null) return { problem: `input[${index}] needs a string role and a string (or text parts) content` };
    parts.push(`${item.role as string}\n${text}`);
  }
  return { prompt: parts.join('\n\n') };
}

const openAiResponses: Dialect = {
  api: 'openai-responses',
  path: '/v1/responses',
  contentType: 'text/event-stream',
  parse(body) {
    if (!isObject(body)) return fail(400, 'body must be a JSON object');
    const input = responsesPrompt(body);
    if ('problem' in input) return fail(400, input.problem);
    if (body.stream !== true) return fail(400, `${ONLY_STREAMS}: set "stream": true`);
    const limit = optionalLimit(body.max_output_tokens, 'max_output_tokens');
    if ('problem' in limit) return fail(400, limit.problem);
    return { ok: true, request: { model: modelOf(body), prompt: input.prompt, maxTokens: limit.limit } };
  },
  errorBody: openAiChat.errorBody,
  open({ request, seed }) {
    const responseId = `resp_${hex8(seed)}`;
    const itemId = `msg_${hex8(seed)}`;
    const inputTokens = wordCount(request.prompt);
    let sequence = 0;
    let text = '';
    let outputTokens = 0;
    const event = (type: string, fields: Json): string => sse({ type, sequence_number: sequence++, ...fields }, type);
    const response = (status: string, extra: Json): Json => ({
      id: responseId,
      object: 'response',
      created_at: FIXED_CREATED_SECONDS,
      status,
      model: request.model,
      output: [],
      incomplete_details: null,
      usage: null,
      ...extra,
    });
    const part = (partText: string): Json => ({ type: 'output_text', text: partText, annotations: [] });
    const message = (status: string, content: Json[]): Json => ({ id: itemId, type: 'message', status, role: 'assistant', content });
    const at = { item_id: itemId, output_index: 0, content_index: 0 };
    return {
      head: () =>
        event('response.created', { response: response('in_progress', {}) }) +
        event('response.in_progress', { response: response('in_progress', {}) }) +
        event('response.output_item.added', { output_index: 0, item: message('in_progress', []) }) +
        event('response.content_part.added', { ...at, part: part('') }),
      token(delta) {
        text += delta;
        outputTokens++;
        return event('response.output_text.delta', { ...at, delta, logprobs: [] });
      },
      tail(reason) {
        const done = message('completed', [part(text)]);
        const status = reason === 'length' ? 'incomplete' : 'completed';
        const final = response(status, {
          output: [done],
          incomplete_details: reason === 'length' ? { reason: 'max_output_tokens' } : null,
          usage: {
            input_tokens: inputTokens,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: outputTokens,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: inputTokens + outputTokens,
          },
        });
        return (
          event('response.output_text.done', { ...at, text, logprobs: [] }) +
          event('response.content_part.done', { ...at, part: part(text) }) +
          event('response.output_item.done', { output_index: 0, item: done }) +
          event(reason === 'length' ? 'response.incomplete' : 'response.completed', { response: final })
        );
      },
    };
  },
};

/** Anthropic's `system`: a string or text blocks. */
function anthropicSystem(system: unknown): string | null | undefined {
  if (system === undefined) return undefined;
  return contentText(system);
}

const anthropicMessages: Dialect = {
  api: 'anthropic-messages',
  path: '/v1/messages',
  contentType: 'text/event-stream',
  parse(body, headers) {
    // As the real API: a key (any value here) and a version header, or the SDK's error tells why.
    if (!headers['x-api-key'] && !headers.authorization) return fail(401, 'x-api-key header is required');
    if (!headers['anthropic-version']) return fail(400, 'anthropic-version header is required (e.g. 2023-06-01)');
    if (!isObject(body)) return fail(400, 'body must be a JSON object');
    const messages = messagesPrompt(body.messages, 'messages');
    if ('problem' in messages) return fail(400, messages.problem);
    const system = anthropicSystem(body.system);
    if (system === null) return fail(400, 'system must be a string or an array of text blocks');
    if (!Number.isInteger(body.max_tokens) || (body.max_tokens as number) < 1) return fail(400, 'max_tokens: a positive integer is required');
    if (body.stream !== true) return fail(400, `${ONLY_STREAMS}: set "stream": true`);
    const prompt = system === undefined ? messages.prompt : `system\n${system}\n\n${messages.prompt}`;
    return { ok: true, request: { model: modelOf(body), prompt, maxTokens: body.max_tokens as number } };
  },
  errorBody: (status, message) => ({
    type: 'error',
    error: { type: status === 401 ? 'authentication_error' : status === 404 ? 'not_found_error' : 'invalid_request_error', message },
  }),
  open({ request, seed }) {
    const inputTokens = wordCount(request.prompt);
    let outputTokens = 0;
    return {
      head: () =>
        sse(
          {
            type: 'message_start',
            message: {
              id: `msg_${hex8(seed)}`,
              type: 'message',
              role: 'assistant',
              model: request.model,
              content: [],
              stop_reason: null,
              stop_sequence: null,
              usage: { input_tokens: inputTokens, output_tokens: 1 },
            },
          },
          'message_start',
        ) +
        sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start') +
        sse({ type: 'ping' }, 'ping'),
      token(text) {
        outputTokens++;
        return sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }, 'content_block_delta');
      },
      tail: (reason) =>
        sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop') +
        sse(
          {
            type: 'message_delta',
            delta: { stop_reason: reason === 'length' ? 'max_tokens' : 'end_turn', stop_sequence: null },
            usage: { output_tokens: outputTokens },
          },
          'message_delta',
        ) +
        sse({ type: 'message_stop' }, 'message_stop'),
    };
  },
};

/** Ollama streams unless told `"stream": false`; `options.num_predict` caps tokens (-1: no cap). */
function ollamaCommon(body: Json): { maxTokens?: number } | { problem: string } {
  if (body.stream === false) return { problem: `${ONLY_STREAMS}: leave "stream" out or set it to true` };
  const options = isObject(body.options) ? body.options : {};
  if (options.num_predict === -1 || options.num_predict === -2) return {};
  const limit = optionalLimit(options.num_predict, 'options.num_predict');
  return 'problem' in limit ? limit : { maxTokens: limit.limit };
}

/** The durations Ollama's last line reports, in nanoseconds, from the token count and pace. */
function ollamaDone(reason: FinishReason, promptTokens: number, tokens: number, intervalMs: number): Json {
  const evalNs = tokens * intervalMs * 1_000_000;
  return {
    done: true,
    done_reason: reason,
    total_duration: evalNs,
    load_duration: 0,
    prompt_eval_count: promptTokens,
    prompt_eval_duration: 0,
    eval_count: tokens,
    eval_duration: evalNs,
  };
}

function ndjson(line: unknown): string {
  return `${JSON.stringify(line)}\n`;
}

const ollamaErrorBody = (_status: number, message: string): unknown => ({ error: message });

const ollamaChat: Dialect = {
  api: 'ollama-chat',
  path: '/api/chat',
  contentType: 'application/x-ndjson',
  parse(body) {
    if (!isObject(body)) return fail(400, 'body must be a JSON object');
    const messages = messagesPrompt(body.messages, 'messages');
    if ('problem' in messages) return fail(400, messages.problem);
    const common = ollamaCommon(body);
    if ('problem' in common) return fail(400, common.problem);
    return { ok: true, request: { model: modelOf(body), prompt: messages.prompt, maxTokens: common.maxTokens } };
  },
  errorBody: ollamaErrorBody,
  open({ request, intervalMs }) {
    let tokens = 0;
    const line = (content: string, extra: Json): string =>
      ndjson({ model: request.model, created_at: FIXED_CREATED_ISO, message: { role: 'assistant', content }, ...extra });
    return {
      head: () => '',
      token(text) {
        tokens++;
        return line(text, { done: false });
      },
      tail: (reason) => line('', ollamaDone(reason, wordCount(request.prompt), tokens, intervalMs)),
    };
  },
};

const ollamaGenerate: Dialect = {
  api: 'ollama-generate',
  path: '/api/generate',
  contentType: 'application/x-ndjson',
  parse(body) {
    if (!isObject(body)) return fail(400, 'body must be a JSON object');
    if (typeof body.prompt !== 'string' || body.prompt === '') return fail(400, 'prompt must be a non-empty string');
    if (body.system !== undefined && typeof body.system !== 'string') return fail(400, 'system must be a string');
    const common = ollamaCommon(body);
    if ('problem' in common) return fail(400, common.problem);
    const prompt = `${typeof body.system === 'string' ? `system\n${body.system}\n\n` : ''}user\n${body.prompt}`;
    return { ok: true, request: { model: modelOf(body), prompt, maxTokens: common.maxTokens } };
  },
  errorBody: ollamaErrorBody,
  open({ request, intervalMs }) {
    let tokens = 0;
    const line = (response: string, extra: Json): string =>
      ndjson({ model: request.model, created_at: FIXED_CREATED_ISO, response, ...extra });
    return {
      head: () => '',
      token(text) {
        tokens++;
        return line(text, { done: false });
      },
      tail: (reason) => line('', ollamaDone(reason, wordCount(request.prompt), tokens, intervalMs)),
    };
  },
};

export const DIALECTS: readonly Dialect[] = [openAiChat, openAiResponses, anthropicMessages, ollamaChat, ollamaGenerate];

export function dialectFor(path: string): Dialect | undefined {
  return DIALECTS.find((dialect) => dialect.path === path);
}
