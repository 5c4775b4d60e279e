/**
 * A DevTools-protocol client for one Node inspector session over `ws`, typed by `devtools-protocol`.
 * Commands go one at a time in the order sent (the inspector answers them in order anyway), each with a
 * time limit; a session whose socket closes rejects everything still waiting.
 */
import type { ProtocolMapping } from 'devtools-protocol/types/protocol-mapping.js';
import WebSocket from 'ws';

type Commands = ProtocolMapping.Commands;
type Events = ProtocolMapping.Events;

interface Waiting {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** Connecting includes the WebSocket handshake; the inspector answers it at once unless the process is blocked. */
const CONNECT_TIMEOUT_MS = 5000;

export class InspectorClient {
  private nextId = 0;
  private readonly waiting = new Map<number, Waiting>();
  private readonly listeners = new Map<string, Set<(params: unknown) => void>>();
  private closedWith: Error | null = null;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => this.receive(String(data)));
    socket.on('close', () => this.fail(new Error('the inspector session closed')));
    socket.on('error', (error) => this.fail(new Error(`the inspector session failed: ${error.message}`)));
  }

  /** Opens a session at `url` (`ws://127.0.0.1:PORT/UUID`, as /json/list names it). */
  static connect(url: string): Promise<InspectorClient> {
    return new Promise((resolve, reject) => {
      // No compression and no redirects: one loopback hop to the inspector, nothing else.
      const socket = new WebSocket(url, { perMessageDeflate: false, followRedirects: false, handshakeTimeout: CONNECT_TIMEOUT_MS });
      const onError = (error: Error) => {
        socket.terminate();
        reject(new Error(`cannot open an inspector session at ${url}: ${error.message}`));
      };
      socket.once('error', onError);
      socket.once('open', () => {
        socket.off('error', onError);
        resolve(new InspectorClient(socket));
      });
    });
  }

  get closed(): boolean {
    return this.closedWith !== null;
  }

  call<M extends keyof Commands>(method: M, params: Commands[M]['paramsType'][0] | undefined, timeoutMs: number): Promise<Commands[M]['returnType']> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`the inspector did not answer ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.socket.send(JSON.stringify({ id, method, params: params ?? {} }));
    });
  }

  on<E extends keyof Events>(event: E, listener: (params: Events[E][0]) => void): () => void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener as (params: unknown) => void);
    this.listeners.set(event, set);
    return () => set.delete(listener as (params: unknown) => void);
  }

  /** Ends the session (immediately: a closing handshake could wait on a target that is busy). */
  close(): Promise<void> {
    this.fail(new Error('the inspector session was closed'));
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.terminate();
    });
  }

  private receive(text: string): void {
    let message: { id?: number; result?: unknown; error?: { message?: string }; method?: string; params?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return;
    }
    if (typeof message.id === 'number') {
      const waiting = this.waiting.get(message.id);
      if (!waiting) return;
      this.waiting.delete(message.id);
      clearTimeout(waiting.timer);
      if (message.error) waiting.reject(new Error(message.error.message ?? 'the inspector refused the command'));
      else waiting.resolve(message.result);
      return;
    }
    if (typeof message.method === 'string') for (const listener of this.listeners.get(message.method) ?? []) listener(message.params);
  }

  private fail(error: Error): void {
    this.closedWith ??= error;
    for (const [id, waiting] of this.waiting) {
      clearTimeout(waiting.timer);
      waiting.reject(this.closedWith);
      this.waiting.delete(id);
    }
  }
}
