// An OpenAI-compatible chat endpoint in Express, the way gateways in front of an LLM API are written:
// it checks the caller's bearer token, forwards the request to the upstream's /chat/completions and
// relays the stream to its client, chunk by chunk, respecting backpressure.
//
//   node server.mjs leaky|fixed
//   PORT, HOST           where to listen (default 127.0.0.1:3000)
//   OPENAI_BASE_URL      the upstream, as the OpenAI SDKs read it: the base with /v1
//   OPENAI_API_KEY       sent upstream as the bearer token
//   API_TOKEN            the bearer token this server wants from its own clients (default sk-example)
//
// The two variants differ only in relay() below. The leaky one waits for 'drain' after a write that
// did not flush, without watching for the client leaving: once the client has gone, res.write()
// returns false and 'drain' never comes, so the loop waits forever, never reads the upstream body again
// and never aborts it: the upstream connection stays open, paused, with everything that references it.
// One socket and a few KB per client that hung up mid-stream, for good.
import { once } from 'node:events';
import express from 'express';

const variant = process.argv[2];
if (variant !== 'leaky' && variant !== 'fixed') {
  console.error('usage: node server.mjs leaky|fixed');
  process.exit(2);
}
const upstreamBase = (process.env.OPENAI_BASE_URL || 'https://api.openai.com/v1').replace(/\/+$/, '');
const upstreamKey = process.env.OPENAI_API_KEY ?? '';
const apiToken = process.env.API_TOKEN || 'sk-example';

const app = express();
app.use(express.json({ limit: '1mb' }));

function openAiError(res, status, message, type = 'invalid_request_error') {
  res.status(status).json({ error: { message, type } });
}

app.post('/v1/chat/completions', async (req, res) => {
  if (req.get('authorization') !== `Bearer ${apiToken}`) {
    openAiError(res, 401, 'missing or wrong bearer token', 'authentication_error');
    return;
  }
  const { model, messages, stream } = req.body ?? {};
  if (typeof model !== 'string' || !Array.isArray(messages) || messages.length === 0) {
    openAiError(res, 400, 'model and a non-empty messages array are required');
    return;
  }
  if (stream !== true) {
    openAiError(res, 400, 'this endpoint only streams: set "stream": true');
    return;
  }

  // fixed: one signal for the client's whole stay. On a POST, req's 'close' fires as soon as the body
  // has been read, so the client leaving shows on the response's 'close', before it has finished.
  const left = new AbortController();
  if (variant === 'fixed') res.once('close', () => left.abort());

  let upstream;
  try {
    upstream = await fetch(`${upstreamBase}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${upstreamKey}` },
      body: JSON.stringify({ model, messages, stream: true }),
      signal: left.signal,
    });
  } catch (error) {
    if (!left.signal.aborted) openAiError(res, 502, `upstream unreachable: ${error.message}`, 'api_error');
    return;
  }
  if (!upstream.ok) {
    openAiError(res, 502, `upstream answered ${upstream.status}: ${(await upstream.text()).slice(0, 200)}`, 'api_error');
    return;
  }

  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders();
  try {
    await relay(upstream.body, res, left.signal);
  } catch (error) {
    if (!left.signal.aborted) console.error(`relay failed: ${error.message}`);
  }
  res.end();
});

async function relay(body, res, signal) {
  for await (const chunk of body) {
    if (res.write(chunk)) continue;
    if (variant === 'leaky') {
      // THE LEAK: after the client has gone, write() returns false and 'drain' never fires.
      await once(res, 'drain');
    } else {
      // fixed: the wait ends when the client leaves too. The abort has already cancelled the upstream
      // request (same signal), and leaving the loop releases its body.
      await once(res, 'drain', { signal });
    }
  }
}

const port = Number(process.env.PORT || 3000);
const host = process.env.HOST || '127.0.0.1';
app.listen(port, host, () => console.log(`openai-compatible (${variant}) listening on http://${host}:${port}`));
