/**
 * JSON Schemas of the scenario and config files, built from the parsers' own tables (fields, kinds,
 * limits), so an editor completes and checks what the parsers accept. The shipped copies in
 * scenarios/schema/ are written by `npm run schemas`; a test keeps them equal to these. The parsers stay
 * the judges: their one-line errors name file and field, which a schema validator's do not.
 */
import { ATTACH_KEYS, KEYS, REQUEST_KEYS, TARGET_KEYS } from './config.js';
import { FRAMINGS } from './load/framing/index.js';
import { BEHAVIOUR_KINDS, BEHAVIOUR_PARAMS, LIMITS, TOP_LEVEL_FIELDS } from './load/scenario.js';
import { PROBE_NAMES } from './probe/probe.js';

type Schema = Record<string, unknown>;

const integer = (range: { min: number; max: number }, description: string): Schema => ({
  type: 'integer',
  minimum: range.min,
  maximum: range.max,
  description,
});

const PARAMS: Record<string, Schema> = {
  events: integer(LIMITS.events, 'events read before leaving'),
  afterEvents: integer(LIMITS.events, 'events read before the reader stalls'),
  ms: integer(LIMITS.ms, 'milliseconds after the response headers before leaving'),
  stallMs: integer(LIMITS.ms, 'milliseconds the reader stays stalled before leaving'),
};

export function scenarioSchema(): Schema {
  const properties: Record<string, Schema> = {
    $schema: { type: 'string' },
    name: { type: 'string', pattern: '^[a-z0-9-]+$', maxLength: LIMITS.nameLength, description: 'unique within a run' },
    description: { type: 'string', maxLength: LIMITS.descriptionLength },
    warmupClients: integer(LIMITS.warmupClients, 'disconnects before the baseline sample (dropped from the verdict)'),
    cycles: integer(LIMITS.cycles, 'measured cycles after the baseline'),
    clients: integer(LIMITS.clients, 'clients per cycle'),
    concurrency: integer(LIMITS.concurrency, 'clients in flight at most'),
    arrivalRate: { type: 'number', minimum: LIMITS.arrivalRate.min, maximum: LIMITS.arrivalRate.max, description: 'new clients per second; 0 = as fast as concurrency allows' },
    control: { type: 'boolean', description: 'a control arm: only "complete" clients, every target expected clean' },
    mix: {
      type: 'array',
      minItems: 1,
      maxItems: LIMITS.mixEntries,
      items: {
        oneOf: BEHAVIOUR_KINDS.map((kind) => ({
          type: 'object',
          required: ['behaviour', 'weight', ...BEHAVIOUR_PARAMS[kind]],
          additionalProperties: false,
          properties: {
            behaviour: { const: kind },
            weight: { type: 'number', minimum: LIMITS.weight.min, maximum: LIMITS.weight.max },
            ...Object.fromEntries(BEHAVIOUR_PARAMS[kind].map((param) => [param, PARAMS[param]!])),
          },
        })),
      },
    },
    steadyLoad: {
      oneOf: [
        { type: 'null' },
        { type: 'object', required: ['connections'], additionalProperties: false, properties: { connections: integer(LIMITS.steadyConnections, 'full-length autocannon streams beside the disconnects') } },
      ],
    },
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'streamer-leakcheck scenario',
    type: 'object',
    required: ['name', 'warmupClients', 'cycles', 'clients', 'concurrency', 'mix'],
    additionalProperties: false,
    properties: Object.fromEntries(TOP_LEVEL_FIELDS.map((field) => [field, properties[field]!])),
  };
}

function requestSchema(): Schema {
  const properties: Record<string, Schema> = {
    method: { type: 'string', description: 'default GET, or POST with a body' },
    path: { type: 'string', pattern: '^/', description: '{id} becomes each request\'s unique id' },
    headers: { type: 'object', additionalProperties: { type: 'string' }, description: '${NAME} in a value is read from the environment; values are redacted in reports' },
    body: { description: 'text, or any JSON value (sent as its JSON); {id} and ${NAME} replaced' },
    framing: { enum: [...FRAMINGS], description: 'what an event is (default: from the Content-Type)' },
  };
  return { type: 'object', additionalProperties: false, properties: Object.fromEntries(REQUEST_KEYS.map((key) => [key, properties[key]!])) };
}

export function configSchema(): Schema {
  const target: Record<string, Schema> = {
    command: { type: 'string', minLength: 1, description: 'started through /bin/sh with PORT and HOST set' },
    expect: { enum: ['leak', 'clean'] },
    expectUpstream: { enum: ['cancelled', 'not-cancelled'], description: 'also fail unless a client hanging up cancels (or does not cancel) the upstream call' },
    probe: { enum: [...PROBE_NAMES, 'auto'] },
    request: { $ref: '#/$defs/request' },
  };
  const loopbackUrl = (description: string): Schema => ({ type: 'string', pattern: '^http://(127\\.|\\[::1\\])', description });
  const attached: Record<string, Schema> = {
    url: loopbackUrl('the running server, on loopback: http://127.0.0.1:PORT or http://[::1]:PORT'),
    pid: { type: 'integer', minimum: 2, description: 'its process (default: the one listening on its port)' },
    upstream: loopbackUrl('the mock upstream (streamer-leakcheck upstream) it was pointed at'),
    expect: { enum: ['leak', 'clean'] },
    expectUpstream: { enum: ['cancelled', 'not-cancelled'], description: 'also fail unless a client hanging up cancels (or does not cancel) the upstream call' },
    probe: { enum: [...PROBE_NAMES, 'auto'] },
    request: { $ref: '#/$defs/request' },
  };
  const properties: Record<string, Schema> = {
    $schema: { type: 'string' },
    attach: {
      type: 'object',
      description: 'servers that run already, checked without a restart and left running',
      propertyNames: { pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$' },
      additionalProperties: {
        oneOf: [
          loopbackUrl('the running server\'s URL'),
          { type: 'object', required: ['url'], additionalProperties: false, properties: Object.fromEntries(ATTACH_KEYS.map((key) => [key, attached[key]!])) },
        ],
      },
    },
    targets: {
      type: 'object',
      propertyNames: { pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$' },
      additionalProperties: {
        oneOf: [
          { type: 'string', minLength: 1 },
          { type: 'object', required: ['command'], additionalProperties: false, properties: Object.fromEntries(TARGET_KEYS.map((key) => [key, target[key]!])) },
        ],
      },
    },
    builtin: { type: 'array', items: { enum: ['node', 'go', 'python'] } },
    selfCheck: { type: 'boolean' },
    path: { type: 'string', pattern: '^/', description: 'the same as request.path' },
    request: { $ref: '#/$defs/request' },
    scenarios: { type: 'array', items: { type: 'string', minLength: 1 } },
    seed: { type: 'integer', minimum: 0, maximum: 2 ** 31 - 1 },
    junit: { type: 'string', minLength: 1 },
    out: { type: 'string', minLength: 1 },
    open: { type: 'boolean' },
    budgets: {
      type: 'object',
      additionalProperties: false,
      properties: { maxBytesPerDisconnect: { type: 'number', minimum: 0 }, maxHandlesPerDisconnect: { type: 'number', minimum: 0 } },
    },
    startTimeoutMs: { type: 'integer', minimum: 100, maximum: 600_000 },
    upstream: {
      type: 'object',
      additionalProperties: false,
      description: 'the mock LLM upstream: tokens per answer and the pause between them',
      properties: { tokens: { type: 'integer', minimum: 1, maximum: 100_000 }, intervalMs: { type: 'integer', minimum: 0, maximum: 60_000 } },
    },
    parallel: { type: 'boolean' },
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'streamer-leakcheck config (leakcheck.config.json, or "leakcheck" in package.json)',
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(KEYS.map((key) => [key, properties[key]!])),
    $defs: { request: requestSchema() },
  };
}

export const SCHEMA_FILES = { 'scenario.schema.json': scenarioSchema, 'config.schema.json': configSchema } as const;
