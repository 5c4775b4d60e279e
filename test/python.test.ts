/**
 * Python servers seen from inside, through the agent the run puts on their PYTHONPATH: the built-in
 * asyncio pair, FastAPI (Debian's python3-fastapi on uvicorn, one process and --workers 2) and aiohttp
 * (python3-aiohttp), each with the seed's leak (a producer parked on `await queue.put(…)` after its
 * client left) and its fix; and a server started with `python -I`, which skips the agent, read through
 * /proc with the reason said. One run, two targets at a time, on the small scenario.
 *
 * Debian's packages are seen by /usr/bin/python3 only (.ci/run installs them); the built-in pair is
 * standard library only and runs on the python3 on PATH.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LeakcheckReport, ScenarioResult, TargetReport } from '../src/report/types.js';
import { processesMentioning, ROOT, runCli, tempDir, type CliResult } from './helpers.js';

const FIXTURES = path.resolve(__dirname, 'fixtures', 'python');
const UVICORN = '/usr/bin/python3 -m uvicorn fastapi_app:app --http h11 --port $PORT --log-level warning';

/** The 1-based line of `fragment` (a line of code, not its mention in a comment) in a file: the report must name that line. */
function lineOf(file: string, fragment: string): number {
  const lines = readFileSync(file, 'utf8').split('\n');
  const found = lines.flatMap((line, i) => (line.includes(fragment) && !/^\s*#/.test(line) && !line.includes('`') ? [i + 1] : []));
  expect(found, `exactly one line with ${fragment} in ${file}`).toHaveLength(1);
  return found[0]!;
}

describe('Python servers through the Python agent', () => {
  let result: CliResult;
  let report: LeakcheckReport;
  let out: string;
  const target = (name: string): TargetReport => {
    const found = report.targets.find((t) => t.name === name);
    expect(found, `target ${name} in the report`).toBeDefined();
    return found!;
  };
  const scenario = (name: string): ScenarioResult => target(name).scenarios[0]!;
  const metric = (name: string, key: string) => scenario(name).metrics.find((m) => m.key === key)!;

  beforeAll(async () => {
    out = await tempDir('python');
    const json = path.join(out, 'report.json');
    result = await runCli(
      [
        'run', '-s', path.join(ROOT, 'test', 'fixtures', 'small.json'), '--seed', '6', '--no-report', '--no-progress', '--json', json,
        '--builtin', 'python',
        '--target', `fa-old=${UVICORN}`, '--expect', 'fa-old=leak',
        '--target', `fa-new=VARIANT=new ${UVICORN}`,
        '--target', `fa-workers=${UVICORN} --workers 2`, '--expect', 'fa-workers=leak',
        '--target', 'ah-old=/usr/bin/python3 aiohttp_app.py', '--expect', 'ah-old=leak',
        '--target', 'ah-new=VARIANT=new /usr/bin/python3 aiohttp_app.py',
        '--target', `isolated=/usr/bin/python3 -I -m uvicorn fastapi_app:app --http h11 --port $PORT --log-level warning`,
      ],
      { cwd: FIXTURES, timeoutMs: 280_000, env: { RUN_MARK: out } },
    );
    report = JSON.parse(await readFile(json, 'utf8')) as LeakcheckReport;
  }, 300_000);

  it('runs every target to a verdict, with nothing left running', async () => {
    expect(result.stderr).toBe('');
    expect(report.problems).toEqual([]);
    expect(report.targets.map((t) => t.name)).toEqual(['py-old', 'py-new', 'fa-old', 'fa-new', 'fa-workers', 'ah-old', 'ah-new', 'isolated']);
    expect(await processesMentioning(out)).toEqual([]);
  });

  it('the built-in pair: py-old keeps one pending task per disconnect, parked on the unguarded put; py-new none', () => {
    const old = target('py-old');
    expect(old).toMatchObject({ probe: 'python', verdict: 'leak', expectationMet: true });
    expect(metric('py-old', 'pendingTasks').perDisconnect).toBeGreaterThan(0.95);
    expect(metric('py-old', 'pendingTasks').perDisconnect).toBeLessThan(1.05);
    expect(metric('py-old', 'fds').perDisconnect).toBeGreaterThan(0.95); // its upstream connection
    const line = lineOf(path.join(ROOT, 'src', 'reference', 'python', 'old_streamer.py'), 'await stream_queue.put(event)');
    expect(scenario('py-old').taskGrowth!.groups[0]).toMatchObject({ state: 'Queue.put', function: 'OldStreamer.send_event', location: `old_streamer.py:${line}`, inProgram: true });
    expect(scenario('py-old').probeDescription.runtime).toMatch(/^CPython 3\.\d+/);

    expect(target('py-new')).toMatchObject({ probe: 'python', verdict: 'clean', expectationMet: true });
    expect(target('py-new').liveWorkers).toEqual({ perDisconnect: 0, atEnd: 0 });
    expect(scenario('py-new').taskGrowth!.groups).toEqual([]);
  });

  it('FastAPI: the leaky producer is named at its await queue.put, with ~1 pending task per disconnect; the fix is clean', () => {
    const app = path.join(FIXTURES, 'fastapi_app.py');
    const put = lineOf(app, 'await queue.put(chunk)');
    expect(target('fa-old')).toMatchObject({ probe: 'python', verdict: 'leak', expectationMet: true });
    expect(metric('fa-old', 'pendingTasks').perDisconnect).toBeGreaterThan(0.95);
    expect(metric('fa-old', 'pendingTasks').perDisconnect).toBeLessThan(1.05);
    const [top] = scenario('fa-old').taskGrowth!.groups;
    expect(top).toMatchObject({ state: 'Queue.put', function: 'produce', location: `fastapi_app.py:${put}`, inProgram: true });
    expect(top!.countPerDisconnect).toBeGreaterThan(0.95);
    expect(top!.createdBy).toBe(`stream at fastapi_app.py:${lineOf(app, 'asyncio.create_task(produce(')}`);
    // "What leaked" names the line it waits at and the line that created it, as the source has them.
    const created = lineOf(app, 'asyncio.create_task(produce(');
    expect(result.stdout).toMatch(
      new RegExp(
        `\\+(?:0\\.9\\d|1\\.0\\d) pending tasks? per disconnect \\[Queue\\.put\\], waiting at \`await queue\\.put\\(chunk\\)\` fastapi_app\\.py:${put} in produce ` +
          `\\(created at \`producer = asyncio\\.create_task\\(produce\\(queue, request_id\\)\\)\` fastapi_app\\.py:${created} in stream\\); \\d+ in all`,
      ),
    );

    expect(target('fa-new')).toMatchObject({ probe: 'python', verdict: 'clean', expectationMet: true });
    expect(Math.abs(metric('fa-new', 'pendingTasks').perDisconnect)).toBeLessThan(0.02);
  });

  it('uvicorn --workers 2: both spawned workers carry the agent and their tasks are summed', () => {
    const workers = scenario('fa-workers');
    expect(target('fa-workers')).toMatchObject({ probe: 'python', verdict: 'leak' });
    // The supervising process and its two workers (multiprocessing's spawn runs sitecustomize again).
    expect(workers.samples.at(-1)!.processes).toBeGreaterThanOrEqual(3);
    expect(workers.taskGrowth!.processes).toBeGreaterThanOrEqual(3);
    expect(metric('fa-workers', 'pendingTasks').perDisconnect).toBeGreaterThan(0.95);
    expect(workers.taskGrowth!.groups[0]).toMatchObject({ state: 'Queue.put', function: 'produce' });
  });

  it('aiohttp 3.8 (no handler cancellation): the leak and its fix', () => {
    const put = lineOf(path.join(FIXTURES, 'aiohttp_app.py'), 'await queue.put(chunk)');
    expect(target('ah-old')).toMatchObject({ probe: 'python', verdict: 'leak', expectationMet: true });
    expect(scenario('ah-old').taskGrowth!.groups[0]).toMatchObject({ state: 'Queue.put', location: `aiohttp_app.py:${put}` });
    expect(target('ah-new')).toMatchObject({ probe: 'python', verdict: 'clean', expectationMet: true });
  });

  it('python -I skips the agent: the target is read through /proc and the report says why', () => {
    const isolated = target('isolated');
    expect(isolated.probe).toBe('proc');
    const via = scenario('isolated').probeDescription.via!;
    expect(via).toMatch(/^\/proc, because pid \d+ \(python3[.\d]*\) runs Python without the agent: python -I, -E and -S skip sitecustomize/);
    expect(result.stdout).toContain(`isolated (sampled through ${via}): `);
  });
});
