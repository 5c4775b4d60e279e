/**
 * Set in every child's environment to the pid of the harness that started it: the reference servers
 * leave when that process is no longer their parent (see reference/main.ts). Its own module so the
 * reference servers need not load the supervisor.
 */
export const SUPERVISOR_PID_ENV = 'STREAMER_LEAKCHECK_SUPERVISOR_PID';
