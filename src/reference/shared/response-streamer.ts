/**
 * The worker (the seed's `ResponseStreamer.Stream`, run as `go s.streamer.Stream(…)`): calls the LLM
 * and sends each chunk into the channel the handler reads. The variant decides how a send is made;
 * that one decision is the whole difference between a worker that can be stopped and a zombie.
 */
import type { Channel } from '../channel.js';
import type { StreamEvent } from './events.js';
import type { LlmClient } from './llm-client.js';
import { newLogData, writeRequestLog } from './prompt.js';
import type { StreamerVariant } from './variant.js';

export class ResponseStreamer {
  constructor(
    private readonly llm: LlmClient,
    private readonly variant: StreamerVariant,
  ) {}

  /** Runs until the stream is done, failed, or cancelled through `signal`. Never rejects. */
  async stream(signal: AbortSignal, requestId: string, prompt: string, streamChan: Channel<StreamEvent>): Promise<void> {
    // Per-request state that lives exactly as long as this function: the prompt, the transcript so far,
    // the timings. A worker that never returns keeps all of it, and everything the upstream call holds.
    const logData = newLogData(requestId, prompt);
    const send = (event: StreamEvent) => this.variant.sendEvent(signal, streamChan, event);
    try {
      // Both streamers hand the request's context to the LLM call, as the seed does
      // (`GenerateFromSinglePrompt(ctx, …)`); in old nobody ever cancels it.
      const tokens = await this.llm.generateFromSinglePrompt(signal, logData.finalInput, async (chunk) => {
        logData.firstTokenAtMs ??= Date.now();
        logData.transcript.push(chunk);
        await send({ type: 'token', payload: chunk });
      });
      await send({ type: 'done', payload: { tokens } });
      streamChan.close();
      logData.outcome = 'completed';
    } catch (error) {
      if (signal.aborted) {
        // Cancelled through the manager: the handler is gone; there is nobody to tell.
        logData.outcome = 'cancelled';
        return;
      }
      logData.outcome = 'failed';
      logData.error = (error as Error).message;
      try {
        await send({ type: 'error', payload: logData.error });
        streamChan.close();
      } catch {
        // Cancelled while reporting the failure: nobody is listening.
      }
    } finally {
      logData.finishedAtMs = Date.now();
      writeRequestLog(logData);
    }
  }
}
