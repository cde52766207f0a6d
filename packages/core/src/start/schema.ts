// The JSON Schema of cluster2.config.json, built from OPTION_TABLE and START_KEYS: the committed
// packages/core/cluster2.schema.json is this function's output (test/start-schema.test.ts checks).
import { OPTION_TABLE, type OptionSpec } from './option-table.js';
import { SCHEMA_KEY, START_KEYS } from './start-keys.js';

type Schema = Record<string, unknown>;

export const SCHEMA_ID = 'https://unpkg.com/@cluster2/core/cluster2.schema.json';

function valueSchema(spec: OptionSpec): Schema {
  const base: Schema = { description: spec.description };
  if (spec.default !== undefined) base.default = spec.default;
  const kind = spec.kind;
  switch (kind.type) {
    case 'integer':
      return { type: 'integer', minimum: kind.min, maximum: kind.max, ...base };
    case 'string':
      return { type: 'string', minLength: 1, ...(kind.pattern ? { pattern: kind.pattern } : {}), ...base };
    case 'boolean':
      return { type: 'boolean', ...base };
    case 'enum':
      return { enum: [...kind.values], ...base };
    case 'path-or-false':
      return { anyOf: [{ type: 'string', minLength: 1 }, { const: false }], ...base };
    case 'sticky':
      return {
        anyOf: [
          { type: 'boolean' },
          {
            type: 'object',
            properties: {
              header: { type: 'string', pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", description: 'Request header whose value identifies the client.' },
            },
            required: ['header'],
            additionalProperties: false,
          },
        ],
        ...base,
      };
  }
}

/** The properties of one app: the table's options (nested ones grouped), the start keys and `$schema`. */
function appProperties(): Schema {
  const properties: Schema = { [SCHEMA_KEY]: { type: 'string', description: 'The JSON Schema of this file, for editor completion.' } };
  const groups = new Map<string, Schema>();
  for (const spec of OPTION_TABLE) {
    const [head, tail] = spec.key.split('.', 2) as [string, string | undefined];
    if (tail === undefined) {
      properties[head] = valueSchema(spec);
      continue;
    }
    if (!groups.has(head)) groups.set(head, {});
    groups.get(head)![tail] = valueSchema(spec);
  }
  // "max": the default count (the CPUs available, lowered to the CPU quota), as `-w max`.
  properties.noWorkers = { anyOf: [properties.noWorkers as Schema, { const: 'max' }], description: (properties.noWorkers as Schema).description };
  for (const [head, nested] of groups) {
    properties[head] = { type: 'object', properties: nested, additionalProperties: false, description: GROUP_DESCRIPTIONS[head] };
  }
  // ecv: true serves the routes with their defaults; an object with those settings.
  properties.ecv = { anyOf: [{ type: 'boolean' }, properties.ecv as Schema], description: GROUP_DESCRIPTIONS.ecv, default: false };
  for (const spec of START_KEYS) properties[spec.key] = { ...spec.schema, description: spec.description };
  return properties;
}

const GROUP_DESCRIPTIONS: Record<string, string> = {
  ecv: "Serve the ECV (health check) routes on the app's HTTP servers: true, or an object of ECV settings.",
  restart: 'Respawn backoff and give-up.',
  limits: 'Bounds on what the master holds for others.',
};

/** The JSON Schema (draft 2020-12) of cluster2.config.json: one app's settings, or `{ "apps": [ … ] }`. */
export function configSchema(): Schema {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: SCHEMA_ID,
    title: 'cluster2 start configuration',
    description: 'cluster2.config.json: the settings of `cluster2 start` (command-line flags win over them), or several apps under "apps".',
    anyOf: [
      { $ref: '#/$defs/app' },
      {
        type: 'object',
        properties: {
          [SCHEMA_KEY]: { type: 'string' },
          apps: { type: 'array', minItems: 1, items: { $ref: '#/$defs/app' }, description: 'One app per entry; cluster2 start --app <name> picks one.' },
        },
        required: ['apps'],
        additionalProperties: false,
      },
    ],
    $defs: { app: { type: 'object', properties: appProperties(), additionalProperties: false } },
  };
}

/** The file's text: two-space JSON and a final newline, as Prettier leaves it. */
export function configSchemaText(): string {
  return `${JSON.stringify(configSchema(), null, 2)}\n`;
}
