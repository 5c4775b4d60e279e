/**
 * The prompt each request sends upstream, and the per-request log data the worker keeps while it runs
 * (the seed's `logData`, whose `FinalInput` is the whole prompt). In the old streamer this is exactly
 * what a zombie worker holds on to forever.
 */

/** A fixed system prompt of realistic size (~1.5 KB), as production chat servers prepend. */
export const SYSTEM_PROMPT = [
  'You are Streamer, the assistant of an engineering team that runs a chat service in production.',
  'Answer in plain English, in short paragraphs, and prefer concrete steps over general advice.',
  'When the user asks about code, quote the smallest fragment that shows the point, name the file it',
  'comes from, and explain what each line does before you suggest a change. Never invent an API: if you',
  'are not sure a function exists, say so and describe how to check. When a question involves',
  'concurrency, say which goroutine, thread or task owns each resource, who is allowed to close it, and',
  'what happens to it when the caller goes away. When a question involves memory, distinguish memory that',
  'is still reachable from memory that is merely not yet collected, and say how one would measure each.',
  'When the user reports an incident, first restate the symptom, then list the hypotheses in order of',
  'likelihood, then the cheapest observation that would tell them apart. Keep a neutral tone; do not',
  'apologise, do not flatter, and do not repeat the question back. If a request is ambiguous, pick the',
  'most likely reading, say which one you picked, and answer it. Format lists with hyphens, code with',
  'fenced blocks, and keep every answer under four hundred words unless the user asks for more detail.',
  'You may be interrupted at any time: the user can close the connection while you are still answering,',
  'and whatever you have not yet said is then discarded. Do not rely on earlier turns being visible.',
].join('\n');

export const USER_QUESTION =
  'Explain, step by step, what happens to a streaming response on the server when its client disconnects.';

/** The whole prompt for one request: the system prompt plus the request's own question. */
export function buildPrompt(requestId: string): string {
  return `${SYSTEM_PROMPT}\n\n[conversation ${requestId}]\nUser: ${USER_QUESTION}\nAssistant:`;
}

/** What the worker records about one request while it streams, written out when it finishes. */
export interface LogData {
  requestId: string;
  /** The seed's `logData.FinalInput`: the prompt as sent to the model. */
  finalInput: string;
  /** Every token relayed so far, for the request log. */
  transcript: string[];
  startedAtMs: number;
  firstTokenAtMs?: number;
  finishedAtMs?: number;
  outcome?: 'completed' | 'cancelled' | 'failed';
  error?: string;
}

export function newLogData(requestId: string, prompt: string): LogData {
  return { requestId, finalInput: prompt, transcript: [], startedAtMs: Date.now() };
}

/**
 * The request log line, written to stderr when REFERENCE_LOG is set (off by default: a load run makes
 * thousands of requests). A zombie worker never gets here.
 */
export function writeRequestLog(logData: LogData): void {
  if (!process.env.REFERENCE_LOG) return;
  const ms = (logData.finishedAtMs ?? Date.now()) - logData.startedAtMs;
  process.stderr.write(
    `request ${logData.requestId}: ${logData.outcome ?? 'unknown'} after ${ms} ms, ` +
      `${logData.transcript.length} tokens${logData.error ? ` (${logData.error})` : ''}\n`,
  );
}
