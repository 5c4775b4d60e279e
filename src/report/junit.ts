/**
 * The report as JUnit XML, the format most CI systems read: one testsuite per target, one testcase per
 * target × scenario (its expectation met or not), one for a target's upstream expectation when it has
 * one, and one per run problem (a target that would not start or died) as an error.
 */
import type { LeakcheckReport } from './types.js';
import { upstreamMissText, verdictWord } from './figures.js';

function xml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    // Characters XML 1.0 cannot carry at all (control characters from a target's stderr).
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

export function renderJunit(report: LeakcheckReport): string {
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  let errors = 0;
  const names = new Set([...report.targets.map((t) => t.name), ...report.problems.flatMap((p) => (p.target ? [p.target] : []))]);
  for (const name of names) {
    const target = report.targets.find((t) => t.name === name);
    const cases: string[] = [];
    let suiteFailures = 0;
    let suiteErrors = 0;
    for (const result of target?.scenarios ?? []) {
      const caseName = `${result.scenario}: expected ${result.expect}`;
      const body = result.expectationMet
        ? ''
        : `<failure message="${xml(`was ${verdictWord(result.verdict)}, expected ${result.expect}`)}">${xml(result.reason)}</failure>`;
      if (!result.expectationMet) suiteFailures++;
      cases.push(`    <testcase classname="streamer-leakcheck.${xml(name)}" name="${xml(caseName)}" time="${seconds(result.durationMs)}">${body}</testcase>`);
    }
    const check = target?.upstreamCheck;
    if (check) {
      if (!check.met) suiteFailures++;
      const body = check.met ? '' : `<failure message="${xml(upstreamMissText(check))}">${xml(check.reason ?? '')}</failure>`;
      cases.push(`    <testcase classname="streamer-leakcheck.${xml(name)}" name="${xml(`upstream: expected ${check.expect}`)}" time="0">${body}</testcase>`);
    }
    for (const problem of report.problems.filter((p) => p.target === name)) {
      suiteErrors++;
      const detail = [problem.message, ...(problem.stderrTail ?? [])].join('\n');
      cases.push(
        `    <testcase classname="streamer-leakcheck.${xml(name)}" name="${xml(`${problem.scenario ?? 'start'}: ${problem.code}`)}" time="0"><error message="${xml(problem.message)}">${xml(detail)}</error></testcase>`,
      );
    }
    tests += cases.length;
    failures += suiteFailures;
    errors += suiteErrors;
    suites.push(
      `  <testsuite name="${xml(name)}" tests="${cases.length}" failures="${suiteFailures}" errors="${suiteErrors}">\n${cases.join('\n')}\n  </testsuite>`,
    );
  }
  for (const problem of report.problems.filter((p) => !p.target)) {
    tests++;
    errors++;
    suites.push(
      `  <testsuite name="run" tests="1" failures="0" errors="1">\n    <testcase classname="streamer-leakcheck.run" name="${xml(problem.code)}" time="0"><error message="${xml(problem.message)}"/></testcase>\n  </testsuite>`,
    );
  }
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites name="streamer-leakcheck" tests="${tests}" failures="${failures}" errors="${errors}" time="${seconds(report.durationMs)}">\n` +
    `${suites.join('\n')}\n</testsuites>\n`
  );
}
