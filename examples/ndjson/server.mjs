// An Ollama-style chat endpoint in plain node:http: POST /api/chat streams NDJSON (one JSON object a
// line, application/x-ndjson), the last line with "done": true. Behind it a gateway design: each
// request starts a generation (a producer that reads the model, here Ollama's own /api/chat at
// OLLAMA_HOST) which hands lines to the response through a small bounded queue, and a registry of the
// running generations (what a "stop" button or a concurrency limit would read).
//
//   node server.mjs leaky|fixed
//   PORT, HOST     where to listen (default 127.0.0.1:3000)
//   OLLAMA_HOST    the model server, as the Ollama CLI and ollama-js read it (http://host:port)
//
// The variants differ in two places, marked. The leaky one is the seed's bug in JavaScript: when the
// client leaves, the response stops taking lines, but nobody tells the producer, which waits forever in
// `await queue.put(line)` for room that never comes. It never finishes, so it never leaves the registry
// and never reads (or aborts) the model's answer: per client that hung up mid-stream, one generation,
// its queue and one paused upstream socket, for good.
import http from 'node:http';

const variant = process.argv[2];
if (variant !== 'leaky' && variant !== 'fixed') {
  console.error('usage: node server.mjs leaky|fixed');
  process.exit(2);
}
const ollamaHost = (process.env.OLLAMA_HOST || 'http://127.0.0.1:11434').replace(/\/+$/, '');
const upstreamOrigin = /^[a-z]+:\/\//.test(ollamaHost) ? ollamaHost : `http://${ollamaHost}`;
/** Lines the producer may run ahead of the client: backpressure, as a channel of capacity 4. */
const QUEUE_CAPACITY = 4;

/** A bounded queue: put() waits for room, take() for a line; close() ends it. */
class LineQueue {
  #items = [];
  #takers = [];
  #putters = [];
  #closed = false;

  async put(item, signal) {
    while (this.#items.length >= QUEUE_CAPACITY) {
      await new Promise((resolve, reject) => {
        // fixed: the wait for room ends when the request is cancelled (and leaves no listener behind).
        const onAbort = () => reject(signal.reason);
        signal?.addEventListener('abort', onAbort, { once: true });
        this.#putters.push(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
    this.#items.push(item);
    this.#takers.shift()?.();
  }

  async take() {
    while (this.#items.length === 0 && !this.#closed) await new Promise((resolve) => this.#takers.push(resolve));
    const item = this.#items.shift();
    this.#putters.shift()?.();
    return item;
  }

  close() {
    this.#closed = true;
    for (const wake of this.#takers.splice(0)) wake();
  }
}

/** The running generations, by id. */
const generations = new Map();
let nextId = 1;

async function generate(generation, body) {
  try {
    const upstream = await fetch(`${upstreamOrigin}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: body.model, messages: body.messages, stream: true }),
      signal: generation.signal,
    });
    if (!upstream.ok) throw new Error(`model server answered ${upstream.status}`);
    let pending = '';
    const decoder = new TextDecoder();
    for await (const bytes of upstream.body) {
      pending += decoder.decode(bytes, { stream: true });
      for (let end = pending.indexOf('\n'); end !== -1; end = pending.indexOf('\n')) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 1);
        if (line.trim() === '') continue;
        // leaky: THE BLOCKING POINT once the client has gone; fixed: a cancelled request ends it.
        await generation.queue.put(line, variant === 'fixed' ? generation.signal : undefined);
      }
    }
  } catch (error) {
    if (!generation.signal?.aborted) {
      await generation.queue.put(JSON.stringify({ error: error.message, done: true })).catch(() => {});
    }
  } finally {
    generation.queue.close();
    generations.delete(generation.id);
  }
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new Error('body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

function sendJson(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function chat(req, res) {
  let body;
  try {
    body = await readJson(req);
  } catch (error) {
    sendJson(res, 400, { error: error.message });
    return;
  }
  if (typeof body?.model !== 'string' || !Array.isArray(body.messages) || body.messages.length === 0) {
    sendJson(res, 400, { error: 'model and a non-empty messages array are required' });
    return;
  }
  if (body.stream === false) {
    sendJson(res, 400, { error: 'this endpoint only streams' });
    return;
  }

  const cancel = new AbortController();
  const generation = { id: nextId++, queue: new LineQueue(), signal: cancel.signal };
  generations.set(generation.id, generation);
  void generate(generation, body);

  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
  res.flushHeaders();
  let clientLeft = false;
  // On a POST, req's 'close' fires once the body has been read: the response's 'close' is the client.
  res.once('close', () => {
    if (res.writableFinished) return;
    clientLeft = true;
    // fixed: cancel the generation (its fetch and its wait for room). leaky: nothing.
    if (variant === 'fixed') cancel.abort(new Error('client left'));
  });
  while (!clientLeft) {
    const line = await generation.queue.take();
    if (line === undefined) break;
    if (clientLeft) break;
    res.write(`${line}\n`);
  }
  res.end();
}

const server = http.createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'POST' && path === '/api/chat') {
    void chat(req, res);
  } else if (req.method === 'GET' && path === '/api/ps') {
    sendJson(res, 200, { running: generations.size });
  } else {
    sendJson(res, 404, { error: `no route for ${req.method} ${path}` });
  }
});

const port = Number(process.env.PORT || 3000);
const host = process.env.HOST || '127.0.0.1';
server.listen(port, host, () => console.log(`ndjson (${variant}) listening on http://${host}:${port}`));
