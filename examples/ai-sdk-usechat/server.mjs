// A Vercel AI SDK 5 chat route, as its Express recipe writes it: the body useChat sends, streamText()
// with @ai-sdk/openai (which calls the OpenAI Responses API), and the UI message stream piped to the
// response (SSE, header x-vercel-ai-ui-message-stream: v1, ending data: [DONE]).
//
//   node server.mjs leaky|fixed
//   PORT, HOST                   where to listen (default 127.0.0.1:3000)
//   OPENAI_BASE_URL, OPENAI_API_KEY  read by @ai-sdk/openai itself (base with /v1)
//
// The two variants differ only in the abortSignal given to streamText(). Without one (leaky, as in the
// recipe), a client that hangs up stops the SDK's pipe to the response, but nothing stops the model
// call: streamText keeps a second branch of the model's stream for its own promises (text, usage,
// onFinish) and reads the model's answer to its end. The upstream connection and the request's whole
// pipeline are held, and the answer paid for, as long as the answer lasts after the client left
// (examples/README.md has the figures).
import { createOpenAI } from '@ai-sdk/openai';
import { convertToModelMessages, streamText } from 'ai';
import express from 'express';

const variant = process.argv[2];
if (variant !== 'leaky' && variant !== 'fixed') {
  console.error('usage: node server.mjs leaky|fixed');
  process.exit(2);
}
const openai = createOpenAI();
const model = process.env.MODEL || 'gpt-4o-mini';

const app = express();
app.use(express.json({ limit: '1mb' }));

app.post('/api/chat', (req, res) => {
  const { messages } = req.body ?? {};
  if (!Array.isArray(messages) || messages.length === 0) {
    res.status(400).json({ error: 'messages: a non-empty array of UI messages is required' });
    return;
  }
  let modelMessages;
  try {
    modelMessages = convertToModelMessages(messages);
  } catch (error) {
    res.status(400).json({ error: `messages: ${error.message}` });
    return;
  }

  // fixed: abort the model call when the client leaves. Not req's 'close': on a POST it fires as soon
  // as the body has been read. The response's 'close' before it finished is the client leaving.
  const clientLeft = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) clientLeft.abort();
  });

  const result = streamText({
    model: openai(model),
    messages: modelMessages,
    ...(variant === 'fixed' ? { abortSignal: clientLeft.signal } : {}),
    onError: ({ error }) => {
      if (!clientLeft.signal.aborted) console.error(`streamText: ${error?.message ?? error}`);
    },
  });
  result.pipeUIMessageStreamToResponse(res);
});

const port = Number(process.env.PORT || 3000);
const host = process.env.HOST || '127.0.0.1';
app.listen(port, host, () => console.log(`ai-sdk-usechat (${variant}) listening on http://${host}:${port}`));
