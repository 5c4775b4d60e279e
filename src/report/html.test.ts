import { describe, expect, it } from 'vitest';
import type { MetricJudgement } from '../analysis/index.js';
import { PROBE_DESCRIPTIONS } from '../probe/registry.js';
import { heapCell } from './figures.js';
import { growthSinceBaseline, renderHtml } from './html.js';
import type { LeakcheckReport, SampleRow, ScenarioInfo, ScenarioResult, TargetReport } from './types.js';

/** Rows every 200 disconnects, from per-row values of whichever metrics the probe reports. */
function rows(values: Partial<Record<string, number[]>>): SampleRow[] {
  const length = Math.max(0, ...Object.values(values).map((v) => v!.length));
  return Array.from({ length }, (_, i) => {
    const row: SampleRow = { x: i * 200, atMs: i * 1000, rssBytes: 90e6, processes: 1 };
    for (const [key, series] of Object.entries(values)) (row as unknown as Record<string, number>)[key] = series![i]!;
    return row;
  });
}

const heapMetric = (perDisconnect: number): MetricJudgement => ({
  key: 'heapUsedBytes',
  label: 'heap used',
  unit: 'bytes',
  decisive: true,
  verdict: perDisconnect > 128 ? 'leak' : 'clean',
  perDisconnect,
  ci95: [perDisconnect * 0.9, perDisconnect * 1.1],
  cycleRates: [],
  totalGrowth: perDisconnect * 400,
  disconnects: 400,
  reason: 'grew',
});

function result(scenario: string, overrides: Partial<ScenarioResult> = {}): ScenarioResult {
  const probe = (overrides.probe ?? 'node') as keyof typeof PROBE_DESCRIPTIONS;
  return {
    probeDescription: PROBE_DESCRIPTIONS[probe],
    scenario,
    control: false,
    probe: 'node',
    attribution: null,
    goroutineGrowth: null,
    breakdown: null,
    expect: 'clean',
    verdict: 'clean',
    expectationMet: true,
    reason: 'no decisive metric grew per disconnect',
    cyclesRun: 2,
    per: 'disconnect',
    disconnects: 400,
    completed: 0,
    endedEarly: 0,
    errors: { total: 0, byKind: {}, examples: [] },
    metrics: [heapMetric(10)],
    handleGrowthByType: {},
    samples: rows({ heapUsedBytes: [40e6, 40.01e6, 39.99e6], handles: [3, 3, 3] }),
    upstream: null,
    steadyLoad: null,
    disconnectsPerSec: 500,
    startedAt: '2026-11-29T12:00:00.000Z',
    durationMs: 3000,
    decidedAfter: { disconnects: 1400, ms: 2500 },
    ...overrides,
  };
}

function target(name: string, scenarios: ScenarioResult[], overrides: Partial<TargetReport> = {}): TargetReport {
  const first = scenarios[0];
  return {
    name,
    origin: 'user',
    probe: first?.probe ?? 'node',
    expect: 'clean',
    verdict: first?.verdict ?? 'inconclusive',
    expectationMet: first?.expectationMet ?? false,
    budgetExceeded: [],
    upstreamCheck: null,
    reason: first ? `${first.scenario}: ${first.reason}` : 'not measured',
    disconnects: 400,
    heap: { bytesPerDisconnect: first?.metrics[0]?.perDisconnect ?? null, ci95: first?.metrics[0]?.ci95 ?? null },
    handles: { perDisconnect: 0, ci95: [0, 0] },
    liveWorkers: null,
    decidingScenario: first?.scenario ?? null,
    scenarios,
    ...overrides,
  };
}

const info = (name: string, overrides: Partial<ScenarioInfo> = {}): ScenarioInfo => ({
  name,
  description: `the ${name} scenario`,
  file: `/scenarios/${name}.json`,
  control: false,
  warmupClients: 200,
  cycles: 2,
  clients: 200,
  concurrency: 20,
  ...overrides,
});

function report(targets: TargetReport[], scenarios: ScenarioInfo[], overrides: Partial<LeakcheckReport> = {}): LeakcheckReport {
  return {
    schemaVersion: 1,
    tool: { name: 'streamer-leakcheck', version: '0.1.0' },
    ok: true,
    budgets: {},
    complete: true,
    startedAt: '2026-11-25T10:58:12.345Z',
    finishedAt: '2026-11-25T10:58:40.000Z',
    durationMs: 27_655,
    seed: 3,
    node: 'v20.20.2',
    upstream: { tokens: 200, intervalMs: 5 },
    scenarios,
    targets,
    harness: { rssStartBytes: 80e6, rssPeakBytes: 140e6, rssEndBytes: 140e6, leftOpen: [] },
    problems: [],
    ...overrides,
  };
}

const leaking = result('mixed', {
  expect: 'leak',
  verdict: 'leak',
  reason: 'heap used grew in each of 2 cycles',
  metrics: [heapMetric(4200)],
  samples: rows({ heapUsedBytes: [60e6, 60.84e6, 61.68e6], handles: [5, 205, 405] }),
  handleGrowthByType: { TCPSocketWrap: 400 },
  attribution: {
    pid: 4242,
    snapshots: ['old-mixed-start-4242.heapsnapshot', 'old-mixed-end-4242.heapsnapshot'],
    snapshotMs: 580,
    analysisMs: 305,
    retained: [
      { group: 'Channel', count: 400, bytes: 38_400, countPerDisconnect: 1, bytesPerDisconnect: 96, retainerPath: ['(GC roots)', 'manager → ChatManager', 'streams → Map', 'table → (array)', 'next → Entry', 'next → Entry', 'next → Entry', 'value → Channel'] },
      { group: '(array)', count: 420, bytes: 1_640_000, countPerDisconnect: 1.05, bytesPerDisconnect: 4100 },
    ],
  },
});
const oldNew = report(
  [target('old', [leaking], { expect: 'leak', verdict: 'leak', expectationMet: true }), target('new', [result('mixed')])],
  [info('mixed')],
);

/** Every element name in a page: anything outside what the renderer writes means markup leaked in. */
function elementNames(page: string): Set<string> {
  return new Set([...page.matchAll(/<([A-Za-z][\w-]*)/g)].map((m) => m[1]!.toLowerCase()));
}

const RENDERED_ELEMENTS = new Set(
  ('html head meta title style body main header footer h1 h2 h3 h4 p strong dl div dt dd section ul li code pre table thead tbody tr th td span figure figcaption ' +
    'svg desc g line text polyline circle').split(' '),
);

describe('renderHtml', () => {
  it('is one self-contained page: no script, no link, no URL to fetch, a CSP that forbids fetching', () => {
    const page = renderHtml(oldNew);
    expect(page.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(page).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
    expect(page).toMatch(/<title>streamer-leakcheck: ok · old LEAK, new clean<\/title>/);
    for (const name of elementNames(page)) expect(RENDERED_ELEMENTS, name).toContain(name);
    expect(page).not.toMatch(/\b(src|href)=|url\(|@import/);
  });

  it('escapes every string from the report: names, reasons, commands, stderr, groups, paths', () => {
    const evil = '"><img src=x onerror=alert(1)><script>alert(2)</script>';
    const result = {
      ...leaking,
      scenario: evil,
      reason: evil,
      handleGrowthByType: { [evil]: 3 },
      errors: { total: 1, byKind: { [evil]: 1 }, examples: [evil] },
      upstream: { streamsStarted: 1, streamsCompleted: 0, streamsCancelled: 0, tokensAfterClientLeft: 0, streamsInFlightAtEnd: 0, openConnectionsAtEnd: 0, cancellation: 'not-cancelled' as const, summary: evil },
      attribution: { ...leaking.attribution!, snapshots: [evil], retained: [{ ...leaking.attribution!.retained[0]!, group: evil, retainerPath: [evil] }] },
    };
    const page = renderHtml(
      report([target(evil, [result], { reason: evil, budgetExceeded: [evil], decidingScenario: evil })], [info(evil, { description: evil })], {
        ok: false,
        complete: false,
        node: evil,
        problems: [{ code: 'LEAKCHECK_TARGET_START', target: evil, scenario: evil, message: `target ${evil} would not start: sh -c '${evil}'`, stderrTail: [evil] }],
      }),
    );
    expect(page).not.toContain('<img');
    expect(page).not.toContain('<script');
    expect(page).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;');
    // In attributes too: the hooks cannot be closed early.
    expect(page).toContain('data-target="&quot;&gt;&lt;img');
    expect(page).toContain('data-scenario="&quot;&gt;&lt;img');
    for (const name of elementNames(page)) expect(RENDERED_ELEMENTS, name).toContain(name);
  });

  it('says ok / NOT ok, complete or incomplete, and lists the problems', () => {
    expect(renderHtml(oldNew)).toMatch(/<p class="status status-ok" data-ok="true" data-complete="true"><strong>ok<\/strong> · complete/);
    const failed = renderHtml(
      report(oldNew.targets, oldNew.scenarios, {
        ok: false,
        complete: false,
        problems: [{ code: 'LEAKCHECK_TARGET_DIED', target: 'new', scenario: 'mixed', message: 'target new died during the run (exit code 9)', stderrTail: ['planted: dying'] }],
      }),
    );
    expect(failed).toMatch(/<strong>NOT ok \(incomplete\)<\/strong> · incomplete/);
    expect(failed).toMatch(/<li data-code="LEAKCHECK_TARGET_DIED"><code>LEAKCHECK_TARGET_DIED<\/code> <strong>new \/ mixed<\/strong>: target new died during the run \(exit code 9\)<pre>planted: dying<\/pre><\/li>/);
  });

  it('has a verdict row per target with the same figures as report.md', () => {
    const page = renderHtml(oldNew);
    const table = /<table class="verdict-table">[\s\S]*?<\/table>/.exec(page)![0];
    const verdictRows = [...table.matchAll(/<tr data-target="([^"]+)">[\s\S]*?<td data-verdict="([^"]+)">/g)].map((m) => [m[1], m[2]]);
    expect(verdictRows).toEqual([
      ['old', 'leak'],
      ['new', 'clean'],
    ]);
    expect(table).toContain(`<td class="num">${heapCell(oldNew.targets[0]!)}</td>`);
    expect(table).toContain('+4.2 KB (+3.8 KB … +4.6 KB)');
    expect(table).toContain('<td data-expectation-met="true"><span class="met">✓ met</span></td>');
  });

  it('charts heap and handles per scenario, every target on the same axes, from its own baseline', () => {
    const page = renderHtml(oldNew);
    for (const metric of ['heap', 'handles']) {
      const svg = new RegExp(`<svg [^>]*class="chart" data-metric="${metric}" data-scenario="mixed"[\\s\\S]*?</svg>`).exec(page)![0];
      expect(svg).toMatch(/role="img" aria-label="[^"]*retained since baseline: each target from its own first sample/);
      for (const name of ['old', 'new']) {
        const points = new RegExp(`<polyline data-target="${name}" points="([^"]*)"`).exec(svg)![1]!.split(' ');
        expect(points).toHaveLength(3);
      }
      // Both start on the same pixel: 40 MB and 60 MB of absolute heap are both "0 since baseline".
      const starts = [...svg.matchAll(/<polyline data-target="\w+" points="([\d.]+,[\d.]+)/g)].map((m) => m[1]);
      expect(new Set(starts).size).toBe(1);
    }
    expect(page).toMatch(/<text[^>]*>old \+1\.7 MB<\/text>/);
    expect(page).toMatch(/<text[^>]*>old \+400<\/text>/);
    expect(page).toMatch(/<text class="tick"[^>]*>\+1 MB<\/text>/);
  });

  it('each scenario gets its own pair of charts', () => {
    const page = renderHtml(report([target('new', [result('mixed'), result('reset')])], [info('mixed'), info('reset')]));
    const charts = [...page.matchAll(/<svg [^>]*data-metric="(\w+)" data-scenario="(\w+)"/g)].map((m) => `${m[2]}/${m[1]}`);
    expect(charts).toEqual(['mixed/heap', 'mixed/handles', 'reset/heap', 'reset/handles']);
  });

  it('growth is measured from the first sample that has the metric', () => {
    expect(growthSinceBaseline(rows({ heapUsedBytes: [10, 15, 7] }), 'heapUsedBytes')).toEqual([
      { x: 0, y: 0 },
      { x: 200, y: 5 },
      { x: 400, y: -3 },
    ]);
    expect(growthSinceBaseline(rows({ heapUsedBytes: [10, 15] }), 'goroutines')).toEqual([]);
  });

  it('charts what each probe has: Go heap and goroutines, /proc RSS and descriptors, and says which is which', () => {
    const go = result('mixed', { probe: 'go', metrics: [], samples: rows({ heapAllocBytes: [5e6, 6e6, 7e6], goroutines: [10, 410, 810] }) });
    const proc = result('mixed', { probe: 'proc', metrics: [], samples: rows({ fds: [12, 12, 13] }) });
    const page = renderHtml(report([target('go-old', [go]), target('py', [proc])], [info('mixed')]));
    expect(page).toMatch(/data-metric="heap"[\s\S]*?<polyline data-target="go-old"[\s\S]*?<polyline data-target="py"/);
    expect(page).toMatch(/>go-old \(Go heap \(HeapAlloc\)\) \+2 MB<\/text>/);
    expect(page).toMatch(/>py \(resident memory \(RSS\)\) 0 B<\/text>/);
    expect(page).toMatch(/>go-old \(goroutines\) \+800<\/text>/);
    expect(page).toMatch(/>py \(open file descriptors\) \+1<\/text>/);
  });

  it('lists a leaking Go target\'s goroutines by state and where they wait, with the program\'s stack', () => {
    const go = result('mixed', {
      probe: 'go',
      verdict: 'leak',
      metrics: [],
      samples: rows({ goroutines: [10, 410, 810] }),
      goroutineGrowth: {
        disconnects: 800,
        totalAtStart: 10,
        totalAtEnd: 810,
        dumpMs: 20,
        dumpBytes: 300_000,
        groups: [
          {
            state: 'chan send',
            function: 'main.(*ResponseStreamer).sendEvent',
            location: 'main.go:100',
            inProgram: true,
            count: 800,
            countPerDisconnect: 1,
            stack: ['main.(*ResponseStreamer).sendEvent at main.go:100'],
            createdBy: 'main.(*app).handleStreamRequest at main.go:195',
          },
        ],
      },
    });
    const page = renderHtml(report([target('go-old', [go])], [info('mixed')]));
    expect(page).toContain('<code>+800 goroutines [chan send] main.(*ResponseStreamer).sendEvent at main.go:100 (1.00 per disconnect)</code>');
    expect(page).toContain('started by main.(*app).handleStreamRequest at main.go:195');
    const clean = renderHtml(report([target('go-new', [{ ...go, verdict: 'clean' }])], [info('mixed')]));
    expect(clean).not.toContain('[chan send]');
  });

  it('a target without samples, with one sample, or not run gets a note, not a broken chart', () => {
    const page = renderHtml(
      report(
        [
          target('old', [leaking]),
          target('none', [result('mixed', { samples: [] })]),
          target('one', [result('mixed', { samples: rows({ heapUsedBytes: [1e6], handles: [2] }) })]),
          target('later', []),
        ],
        [info('mixed')],
      ),
    );
    const heap = /<figure class="chart-figure" data-metric="heap" data-scenario="mixed">[\s\S]*?<\/figure>/.exec(page)![0];
    expect(heap).toContain('<polyline data-target="old"');
    expect(heap).not.toContain('data-target="none"');
    expect(heap).toMatch(/<g class="series" data-target="one"><circle /);
    expect(heap).toContain('<li>none: no samples (it stopped before its baseline)</li>');
    expect(heap).toContain('<li>one: only the baseline sample, so no growth to draw</li>');
    expect(heap).toContain('<li>later: not run in this scenario</li>');
  });

  it('with nothing to draw, a scenario shows a note in place of the chart', () => {
    const page = renderHtml(report([target('new', [result('mixed', { samples: [] })])], [info('mixed')]));
    expect(page).not.toContain('<svg');
    expect(page).toMatch(/<figure class="chart-figure chart-missing" data-metric="heap" data-scenario="mixed">[\s\S]*?new: no samples/);
    expect(page).toMatch(/<figure class="chart-figure chart-missing" data-metric="handles" data-scenario="mixed">/);
  });

  it('a control scenario counts completed streams on x', () => {
    const control = result('control', { control: true, per: 'stream', completed: 400 });
    const page = renderHtml(report([target('new', [control])], [info('control', { control: true })]));
    expect(page).toMatch(/<text class="axis-label"[^>]*>completed streams<\/text>/);
    expect(page).toContain('Scenario control (control)');
  });

  it('says why what leaked is not known when the snapshots could not be read', () => {
    const unread = result('mixed', { verdict: 'leak', attributionProblem: 'reading the heap snapshots failed: <truncated>' });
    const page = renderHtml(report([target('old', [unread], { expect: 'leak', verdict: 'leak', expectationMet: true })], [info('mixed')]));
    expect(page).toContain('<div class="attribution" data-target="old">');
    expect(page).toContain('not known: reading the heap snapshots failed: &lt;truncated&gt;');
  });

  it('shows what leaked under a leaking scenario: groups per disconnect, retainer paths, handle growth', () => {
    const page = renderHtml(oldNew);
    const block = /<div class="attribution" data-target="old">[\s\S]*?<\/div>\n<\/div>/.exec(page)![0];
    expect(block).toContain('heap snapshots of pid 4242: old-mixed-start-4242.heapsnapshot, old-mixed-end-4242.heapsnapshot');
    expect(block).toMatch(/<th scope="row"><code>Channel<\/code><\/th><td class="num">\+1\.00<\/td><td class="num">\+96 B<\/td><td class="num">400<\/td>/);
    expect(block).toMatch(/<th scope="row"><code>\(array\)<\/code><\/th><td class="num">\+1\.05<\/td><td class="num">\+4\.1 KB<\/td>/);
    expect(block).toContain(
      '<code>Channel</code> held by: <code class="path">(GC roots) manager → ChatManager streams → Map table → (array) {next → Entry} ×3 value → Channel</code>',
    );
    expect(page).toMatch(/<div class="target-notes" data-target="old">[\s\S]*?<dt>grew<\/dt><dd>\+400 TCPSocketWrap<\/dd>/);
    expect(page).not.toContain('<div class="attribution" data-target="new">');
  });
});

describe('the breakdown matrix', () => {
  it('shows behaviours × targets in report.html and report.md, each cell its verdict and figures', async () => {
    const { renderMarkdown } = await import('./markdown.js');
    const arm = (behaviour: string, verdict: 'leak' | 'clean', bytes: number) => ({
      behaviour, kind: behaviour.split(' ')[0]!, verdict, reason: 'r', disconnects: 400, cyclesRun: 2, bytesPerDisconnect: bytes, handlesPerDisconnect: 0.02, durationMs: 1,
    });
    const broken = result('mixed', { verdict: 'leak', breakdown: [arm('stall-then-leave (after 2 events, 100 ms)', 'leak', 2200), arm('leave-before-first-byte', 'clean', 3)] });
    const r = report([target('api', [broken]), target('fixed', [result('mixed')])], [info('mixed')]);
    const page = renderHtml(r);
    expect(page).toContain('<table class="breakdown-table" data-scenario="mixed">');
    expect(page).toMatch(/<th scope="row">stall-then-leave \(after 2 events, 100 ms\)<\/th><td>LEAK \+2\.2 KB, \+0\.02 handles<\/td><td><\/td>/);
    expect(renderMarkdown(r)).toContain('| stall-then-leave (after 2 events, 100 ms) | LEAK +2.2 KB, +0.02 handles |  |');
    expect(renderHtml(report([target('fixed', [result('mixed')])], [info('mixed')]))).not.toContain('breakdown-table');
  });
});

describe('an upstream expectation in every report', () => {
  it('shows what was seen, met or missed, in report.html, report.md, the terminal and JUnit', async () => {
    const { renderMarkdown } = await import('./markdown.js');
    const { renderTerminal } = await import('./terminal.js');
    const { renderJunit } = await import('./junit.js');
    const r = report(
      [
        target('leaky', [result('mixed')], { upstreamCheck: { expect: 'not-cancelled', seen: 'not-cancelled', met: true, reason: null } }),
        target('fixed', [result('mixed')], { upstreamCheck: { expect: 'cancelled', seen: 'not-cancelled', met: false, reason: 'upstream not cancelled in mixed' } }),
        target('other', [result('mixed')]),
      ],
      [info('mixed')],
      { ok: false },
    );
    const page = renderHtml(r);
    expect(page).toContain('<li data-upstream-met="true"><strong>leaky</strong> upstream not cancelled, as expected</li>');
    expect(page).toContain('<li data-upstream-met="false"><strong>fixed</strong> upstream not cancelled, expected cancelled (upstream not cancelled in mixed)</li>');
    const markdown = renderMarkdown(r);
    expect(markdown).toContain('- ✅ **leaky** upstream not cancelled, as expected');
    expect(markdown).toContain('- ❌ **fixed** upstream not cancelled, expected cancelled (upstream not cancelled in mixed)');
    const terminal = renderTerminal(r, { color: false });
    expect(terminal).toMatch(/ {2}upstream +not cancelled ✓ +not cancelled ✗ expected cancelled +not checked/);
    expect(terminal).toContain('FAIL: fixed: upstream not cancelled, expected cancelled (upstream not cancelled in mixed)');
    const junit = renderJunit(r);
    expect(junit).toContain('name="upstream: expected not-cancelled" time="0"></testcase>');
    expect(junit).toMatch(/name="upstream: expected cancelled" time="0"><failure message="upstream not cancelled, expected cancelled/);
    expect(junit).toMatch(/<testsuite name="fixed" tests="2" failures="1"/);
    // No row and no list for a run that checked no upstream.
    const unchecked = report([target('other', [result('mixed')])], [info('mixed')]);
    expect(renderTerminal(unchecked, { color: false })).not.toMatch(/^ {2}upstream /m);
    expect(renderHtml(unchecked)).not.toContain('upstream-checks');
  });
});
