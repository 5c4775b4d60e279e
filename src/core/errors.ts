/**
 * The few ways a run can fail, each with a stable code and the exit code the CLI maps it to.
 * Callers branch on `code`, never on message text. `cli.ts` is the only place that turns these into
 * exit codes and text; a user mistake never reaches the user as a stack trace.
 */

/** Exit codes, documented in the README. */
export const ExitCode = {
  /** Every verdict met its expectation. */
  ok: 0,
  /** A verdict missed its expectation (or a budget was exceeded). */
  expectationMissed: 1,
  /** Bad usage, a bad option, a bad scenario or config file, an output path that cannot be written. */
  usage: 2,
  /** A target failed to start, never listened, or died during the run. */
  target: 3,
  /** Every verdict met its expectation, but a report file could not be written (a disk that filled). */
  output: 4,
  /** The run was interrupted (SIGINT/SIGTERM); the partial report is written and marked incomplete. */
  interrupted: 130,
  /** A bug in streamer-leakcheck itself. */
  internal: 70,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export abstract class LeakcheckError extends Error {
  abstract readonly code: string;
  abstract readonly exitCode: ExitCodeValue;
}

/** A command-line option or combination that makes no sense. */
export class UsageError extends LeakcheckError {
  readonly code = 'LEAKCHECK_USAGE';
  readonly exitCode = ExitCode.usage;
}

/** A scenario or config file that is missing, not JSON, or fails validation. `where` names file and field. */
export class ScenarioError extends LeakcheckError {
  readonly code = 'LEAKCHECK_SCENARIO';
  readonly exitCode = ExitCode.usage;
  constructor(
    readonly where: string,
    problem: string,
  ) {
    super(`${where}: ${problem}`);
  }
}

/** A target that could not be started, never accepted connections, or does not serve the stream path. */
export class TargetStartError extends LeakcheckError {
  readonly code = 'LEAKCHECK_TARGET_START';
  readonly exitCode = ExitCode.target;
  constructor(
    readonly target: string,
    problem: string,
    readonly stderrTail: string[] = [],
  ) {
    super(`target ${target}: ${problem}`);
  }
}

/**
 * A target process that exited while it was being measured. `exit` is null for one we did not start: only
 * its parent learns how it ended.
 */
export class TargetDiedError extends LeakcheckError {
  readonly code = 'LEAKCHECK_TARGET_DIED';
  readonly exitCode = ExitCode.target;
  constructor(
    readonly target: string,
    readonly exit: { code: number | null; signal: NodeJS.Signals | null } | null,
    readonly stderrTail: string[] = [],
  ) {
    super(
      `target ${target} died during the run (${exit === null ? 'it was attached to, so how it ended is unknown' : exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`})`,
    );
  }
}

/** The run was stopped by a signal. */
export class InterruptedError extends LeakcheckError {
  readonly code = 'LEAKCHECK_INTERRUPTED';
  readonly exitCode = ExitCode.interrupted;
}
