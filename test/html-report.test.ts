/**
 * report.html as a browser sees it. A real short run (a planted leak of 4 KB and one timer per
 * disconnect as "old", its clean twin as "new", the small scenario) writes the report; Debian's
 * chromium, headless, then dumps the DOM it parsed and takes a screenshot. The DOM must hold, per
 * scenario, a heap and a handles chart with one line per target, and a verdict row per target that
 * says what report.json says; the screenshot must be a full-size image with both targets' colours in it.
 *
 * Chromium is started with the CLI only (no npm dependency), in a process group of its own with a fresh
 * profile, bounded in time, and its whole group is killed afterwards. The screenshot is kept as
 * test-artifacts/html-report.png. CI installs chromium (.ci/run); without it this fails in CI and is
 * skipped, with a warning, elsewhere.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { SERIES_COLOURS } from '../src/report/chart.js';
import type { LeakcheckReport } from '../src/report/types.js';
import { listTree, processesMentioning, ROOT, runCli, tempDir } from './helpers.js';
import { countColour, decodePng, pngSize } from './png.js';

const FIXTURES = path.resolve(__dirname, 'fixtures');
const ARTIFACT = path.join(ROOT, 'test-artifacts', 'html-report.png');
const WINDOW = { width: 1280, height: 2400 };
/** One Chromium call takes ~5 s on the 2-core machine (most of it start-up); 45 s means it hangs. */
const CHROMIUM_TIMEOUT_MS = 45_000;
const MISSING = 'chromium is not installed: the HTML report test needs it (.ci/run installs Debian\'s chromium; apt-get install chromium)';

function findChromium(): string | null {
  const candidates = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, 'chromium')), '/usr/bin/chromium'];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

const CHROMIUM = findChromium();
if (!CHROMIUM && !process.env.CI) console.warn(`${MISSING}: skipping it`);

interface ChromiumResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** One headless Chromium call with a fresh profile; every process it started is gone when this resolves. */
async function chromium(args: string[]): Promise<ChromiumResult> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'leakcheck-chromium-'));
  const child = spawn(
    CHROMIUM!,
    [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--force-color-profile=srgb',
      '--force-device-scale-factor=1', `--user-data-dir=${profile}`, ...args,
    ],
    // Its own process group: the zygote, renderer and utility processes are in it, and go with it.
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const killGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, CHROMIUM_TIMEOUT_MS);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(timer);
  killGroup();
  // Helpers outside the group would still name the profile on their command line: wait them out.
  let left = await processesMentioning(profile);
  for (let i = 0; i < 50 && left.length > 0; i++) {
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = await processesMentioning(profile);
  }
  expect(left, 'chromium processes left running').toEqual([]);
  await rm(profile, { recursive: true, force: true });
  return { code, signal, stdout, stderr, timedOut };
}

/** Every element whose start tag matches `open`, through its end tag (fine for elements that do not nest). */
function elements(dom: string, open: RegExp, tag: string): string[] {
  return [...dom.matchAll(new RegExp(`${open.source}[\\s\\S]*?</${tag}>`, 'g'))].map((m) => m[0]);
}

describe.runIf(CHROMIUM || process.env.CI)('report.html in headless Chromium', () => {
  let report: LeakcheckReport;
  let htmlFile = '';
  let out = '';

  beforeAll(async () => {
    if (!CHROMIUM) return; // each test fails with the reason
    out = await tempDir('html');
    const json = path.join(out, 'report.json');
    const result = await runCli(
      [
        'run', '-s', path.join(FIXTURES, 'small.json'), '--seed', '3', '--no-progress',
        // RUN_MARK names this run in the servers' environment, to find anything of it left running.
        '--target', `old=RUN_MARK=${out} LEAK_BYTES=4096 LEAK_HANDLES=1 node planted-leak-server.mjs`, '--expect', 'old=leak',
        '--target', `new=RUN_MARK=${out} node planted-leak-server.mjs`,
        '--out', path.join(out, 'reports'), '--json', json,
      ],
      { cwd: FIXTURES, timeoutMs: 60_000 },
    );
    expect(result.stderr).toBe('');
    report = JSON.parse(await readFile(json, 'utf8')) as LeakcheckReport;
    // A small run leaves a clean server's verdict to chance between clean and inconclusive; the page
    // must show whichever it was, and the exit code follows report.ok either way.
    expect(result.code, result.stdout).toBe(report.ok ? 0 : 1);
    const folder = (await listTree(path.join(out, 'reports'))).find((entry) => /^\d{4}-\d\d-\d\dT[^/]*$/.test(entry))!;
    htmlFile = path.join(out, 'reports', folder, 'report.html');
    expect(await processesMentioning(out)).toEqual([]);
  }, 90_000);

  it('the parsed DOM has, per scenario, a heap and a handles chart with a line per target, and a verdict row per target', async () => {
    expect(CHROMIUM, MISSING).not.toBeNull();
    const result = await chromium(['--dump-dom', pathToFileURL(htmlFile).href]);
    expect(result.timedOut).toBe(false);
    expect(result.code, result.stderr.slice(-2000)).toBe(0);
    const dom = result.stdout;
    expect(dom).toMatch(/<title>streamer-leakcheck: (ok|NOT ok) · old LEAK, new \w+<\/title>/);

    expect(report.scenarios.map((s) => s.name)).toEqual(['small']);
    for (const scenario of report.scenarios) {
      for (const metric of ['heap', 'handles']) {
        const charts = elements(dom, new RegExp(`<svg [^>]*class="chart" data-metric="${metric}" data-scenario="${scenario.name}"`), 'svg');
        expect(charts, `${metric} chart of ${scenario.name}`).toHaveLength(1);
        expect(charts[0]).toMatch(/<title>[^<]*retained since baseline: each target from its own first sample/);
        for (const target of report.targets) {
          const samples = target.scenarios.find((s) => s.scenario === scenario.name)!.samples;
          const line = new RegExp(`<polyline data-target="${target.name}" points="([^"]*)"`).exec(charts[0]!);
          expect(line, `${target.name}'s line in the ${metric} chart of ${scenario.name}`).not.toBeNull();
          const points = line![1]!.trim().split(/\s+/).map((pair) => pair.split(',').map(Number) as [number, number]);
          expect(points.length).toBeGreaterThanOrEqual(2);
          expect(points).toHaveLength(samples.length);
          for (const [px, py] of points) expect(Number.isFinite(px) && Number.isFinite(py)).toBe(true);
          // old keeps 4 KB and a timer per disconnect: its last point is above its first (y grows up).
          if (target.name === 'old') expect(points.at(-1)![1]).toBeLessThan(points[0]![1]);
        }
      }
    }

    const table = elements(dom, /<table class="verdict-table">/, 'table');
    expect(table).toHaveLength(1);
    const rows = [...table[0]!.matchAll(/<tr data-target="([^"]+)">[\s\S]*?<td data-verdict="([^"]+)">[\s\S]*?<td data-expectation-met="([^"]+)">/g)];
    expect(rows.map((m) => [m[1], m[2], m[3] === 'true'])).toEqual(report.targets.map((t) => [t.name, t.verdict, t.expectationMet]));
    expect(rows.find((m) => m[1] === 'old')![2]).toBe('leak');
  }, 60_000);

  it('the screenshot is a full page, not blank, with both targets\' colours', async () => {
    expect(CHROMIUM, MISSING).not.toBeNull();
    const shotDir = await mkdtemp(path.join(os.tmpdir(), 'leakcheck-shot-'));
    const shot = path.join(shotDir, 'html-report.png');
    const result = await chromium([`--screenshot=${shot}`, `--window-size=${WINDOW.width},${WINDOW.height}`, '--hide-scrollbars', pathToFileURL(htmlFile).href]);
    expect(result.timedOut).toBe(false);
    expect(result.code, result.stderr.slice(-2000)).toBe(0);
    const png = await readFile(shot);
    await mkdir(path.dirname(ARTIFACT), { recursive: true });
    await copyFile(shot, ARTIFACT);
    console.log(`html report screenshot: ${ARTIFACT}`);
    await rm(shotDir, { recursive: true, force: true });

    expect(pngSize(png)).toEqual(WINDOW);
    // A blank 1280x2400 page compresses to a few KB; this page, with text, tables and charts, to ~250 KB.
    expect(png.length).toBeGreaterThan(50_000);
    const image = decodePng(png);
    // old is drawn in the first colour, new in the second: lines, markers and legend swatches.
    expect(countColour(image, SERIES_COLOURS[0])).toBeGreaterThan(300);
    expect(countColour(image, SERIES_COLOURS[1])).toBeGreaterThan(300);
  }, 60_000);
});
