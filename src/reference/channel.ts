/**
 * An unbuffered channel: Go's `make(chan T)`, in promises.
 *
 * A send and a receive meet (a rendezvous): `send()` settles only when a receiver has taken the value,
 * and `receive()` only when a sender has given one. That is the whole point of the reference pair: a
 * worker that sends to a channel nobody reads any more waits forever, exactly like a goroutine blocked
 * on `streamChan <- event`.
 *
 * Either side may pass an AbortSignal, which makes the operation behave like a Go `select` with a
 * `<-ctx.Done()` case: if the signal aborts first, the operation is withdrawn from the queue (nothing is
 * left behind that a later partner could meet) and its promise rejects with the signal's reason.
 */

export type ReceiveResult<T> = { value: T; ok: true } | { ok: false };

export interface ChannelOpOptions {
  signal?: AbortSignal;
}

/** Sending on a closed channel, or closing it twice (both panic in Go). */
export class ChannelClosedError extends Error {
  readonly code = 'CHANNEL_CLOSED';
  constructor(message = 'send on closed channel') {
    super(message);
    this.name = 'ChannelClosedError';
  }
}

interface WaitingSender<T> {
  value: T;
  resolve(): void;
  reject(reason: unknown): void;
  /** Detaches the abort listener; called on every way out. */
  detach(): void;
}

interface WaitingReceiver<T> {
  resolve(result: ReceiveResult<T>): void;
  reject(reason: unknown): void;
  detach(): void;
}

export class Channel<T> {
  // Sets keep insertion order (FIFO) and delete in O(1), which a withdrawn operation needs.
  private readonly senders = new Set<WaitingSender<T>>();
  private readonly receivers = new Set<WaitingReceiver<T>>();
  private closed = false;

  /** Senders blocked until a receiver comes (for tests and gauges). */
  get pendingSenders(): number {
    return this.senders.size;
  }

  /** Receivers blocked until a sender comes (for tests and gauges). */
  get pendingReceivers(): number {
    return this.receivers.size;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** `ch <- value`: settles once a receiver has taken `value`. */
  send(value: T, options: ChannelOpOptions = {}): Promise<void> {
    const { signal } = options;
    if (this.closed) return Promise.reject(new ChannelClosedError());
    // A signal that is already aborted wins over a waiting receiver: a cancelled sender delivers nothing.
    if (signal?.aborted) return Promise.reject(signal.reason);

    const receiver = first(this.receivers);
    if (receiver) {
      this.receivers.delete(receiver);
      receiver.detach();
      receiver.resolve({ value, ok: true });
      return Promise.resolve();
    }

    return new Promise<void>((resolve, reject) => {
      const sender: WaitingSender<T> = { value, resolve, reject, detach: () => {} };
      if (signal) {
        const onAbort = () => {
          this.senders.delete(sender);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        sender.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.senders.add(sender);
    });
  }

  /** `value, ok := <-ch`: the next value, or `{ ok: false }` once the channel is closed and drained. */
  receive(options: ChannelOpOptions = {}): Promise<ReceiveResult<T>> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);

    const sender = first(this.senders);
    if (sender) {
      this.senders.delete(sender);
      sender.detach();
      sender.resolve();
      return Promise.resolve({ value: sender.value, ok: true });
    }
    if (this.closed) return Promise.resolve({ ok: false });

    return new Promise<ReceiveResult<T>>((resolve, reject) => {
      const receiver: WaitingReceiver<T> = { resolve, reject, detach: () => {} };
      if (signal) {
        const onAbort = () => {
          this.receivers.delete(receiver);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        receiver.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.receivers.add(receiver);
    });
  }

  /**
   * `close(ch)`: waiting receivers get `{ ok: false }`; waiting senders reject with ChannelClosedError
   * (a Go sender blocked on a channel that gets closed panics). Closing twice throws, as in Go.
   */
  close(): void {
    if (this.closed) throw new ChannelClosedError('close of closed channel');
    this.closed = true;
    for (const receiver of this.receivers) {
      receiver.detach();
      receiver.resolve({ ok: false });
    }
    this.receivers.clear();
    for (const sender of this.senders) {
      sender.detach();
      sender.reject(new ChannelClosedError());
    }
    this.senders.clear();
  }
}

function first<V>(set: Set<V>): V | undefined {
  for (const item of set) return item;
  return undefined;
}
