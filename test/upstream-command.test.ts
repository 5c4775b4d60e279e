/**
 * `streamer-leakcheck upstream` as a person runs it: a real process in the foreground, a real stream
 * (one read to the end, one left mid-stream), then Ctrl-C (SIGINT): exit 0, the counters printed, the
 * port closed. A host off loopback is refused with one line and exit 2, before anything listens.
 */
import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { findFreePort } from '../src/targets/ports.js';
import { runCli, waitUntil } from './helpers.js';

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** POSTs to the Ollama chat route; reads `lines` NDJSON lines and hangs up, or reads to the end. */
function ollamaChat(port: number, lines?: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/api/chat', method: 'POST', agent: false });
    req.setTimeout(10_000, () => req.destroy(new Error('no end within 10 s')));
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (t: string) => {
        text += t;
        const seen = text.split('\n').length - 1;
        if (lines !== undefined && seen >= lines) {
          req.destroy();
          resolve(seen);
        }
      });
      res.on('end', () => resolve(text.split('\n').length - 1));
    });
    req.end(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }));
  });
}

describe('streamer-leakcheck upstream', () => {
  it('serves in the foreground, prints its URL and the variables, and its counters after Ctrl-C', async () => {
    const port = await findFreePort();
    let stdout = '';
    const run = runCli(['upstream', '--port', String(port), '--tokens', '400', '--interval-ms', '2'], {
      timeoutMs: 30_000,
      onStdout: (text) => (stdout += text),
    });
    expect(await waitUntil(() => stdout.includes('Ctrl-C to stop'), 15_000)).toBe(true);
    expect(stdout).toContain(`mock LLM upstream listening on http://127.0.0.1:${port}\n`);
    expect(stdout).toContain(`  export OPENAI_BASE_URL=http://127.0.0.1:${port}/v1\n`);
    expect(stdout).toContain(`  export ANTHROPIC_BASE_URL=http://127.0.0.1:${port}\n`);
    expect(stdout).toContain(`  export OLLAMA_HOST=http://127.0.0.1:${port}\n`);

    expect(await ollamaChat(port)).toBe(401); // 400 tokens and the done line
    expect(await ollamaChat(port, 5)).toBeGreaterThanOrEqual(5);
    // The hang-up reaches the server a moment later: wait until it has been counted.
    const counted = async () => {
      const vars = await fetch(`http://127.0.0.1:${port}/debug/vars`).then((r) => r.json() as Promise<{ streamsCancelled: number }>);
      return vars.streamsCancelled === 1;
    };
    for (let i = 0; i < 100 && !(await counted()); i++) await new Promise((r) => setTimeout(r, 20));

    process.kill(run.pid, 'SIGINT');
    const result = await run;
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/upstream stopped\. streams: 2 started, 1 completed, 1 cancelled, 0 in flight, 0 tokens after a client left, 0 refused/);
    expect(result.stdout).toMatch(/ {2}ollama-chat {9}2 started, 1 completed, 1 cancelled/);
    expect(await connects(port)).toBe(false);
  });

  it('refuses a host off loopback with one line and exit 2', async () => {
    const result = await runCli(['upstream', '--host', '0.0.0.0', '--port', '0'], { timeoutMs: 15_000 });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([
      'streamer-leakcheck: upstream: --host 0.0.0.0 is not a loopback address: the mock upstream listens on 127.0.0.1, ::1 or localhost only',
    ]);
  });

  it('says so in one line when the port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const result = await runCli(['upstream', '--port', String(port)], { timeoutMs: 15_000 });
      expect(result.code).toBe(2);
      expect(result.stderr.trim()).toBe(`streamer-leakcheck: upstream: cannot listen on 127.0.0.1:${port}: the port is in use`);
    } finally {
      blocker.close();
    }
  });
});
