import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from './config.js';
import { PACKAGE_ROOT } from './core/paths.js';
import { parseScenario } from './load/scenario.js';
import { configSchema, SCHEMA_FILES, scenarioSchema } from './schemas.js';

const SCENARIOS = path.join(PACKAGE_ROOT, 'scenarios');

describe('JSON Schemas of the scenario and config files', () => {
  it('the shipped copies are what the parsers accept today (run `npm run schemas` after changing a parser)', () => {
    for (const [file, build] of Object.entries(SCHEMA_FILES)) {
      expect(JSON.parse(readFileSync(path.join(SCENARIOS, 'schema', file), 'utf8')), file).toEqual(build());
    }
  });

  it('every shipped scenario names its schema, and the parser takes the $schema key', () => {
    const files = readdirSync(SCENARIOS).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const text = readFileSync(path.join(SCENARIOS, file), 'utf8');
      expect(JSON.parse(text).$schema, file).toBe('./schema/scenario.schema.json');
      expect(parseScenario(text, file).name).toBe(path.basename(file, '.json'));
    }
    expect(parseConfig({ $schema: './node_modules/streamer-leakcheck/scenarios/schema/config.schema.json', seed: 1 }, 'leakcheck.config.json').seed).toBe(1);
  });

  it('describes each behaviour with exactly its parameters, and the request fields the config takes', () => {
    const mix = (scenarioSchema().properties as Record<string, { items: { oneOf: Array<{ properties: Record<string, unknown>; required: string[] }> } }>).mix;
    const stall = mix!.items.oneOf.find((entry) => (entry.properties.behaviour as { const: string }).const === 'stall-then-leave')!;
    expect(stall.required).toEqual(['behaviour', 'weight', 'afterEvents', 'stallMs']);
    const request = (configSchema().$defs as Record<string, { properties: Record<string, unknown> }>).request;
    expect(Object.keys(request!.properties)).toEqual(['method', 'path', 'headers', 'body', 'framing']);
  });
});
