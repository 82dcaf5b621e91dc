// docs/hub.md's configuration tables, generated from the settings schema: `npm run docs:config` writes
// them; test/integration/hub-config.test.ts fails when the file and the schema differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fieldDocs } from '../core/schema.js';
import { DEFAULT_HUB_CONFIG, HUB_ENGINE_SCHEMA, SETTINGS, SIM_SCHEMA, envName, flagName, settingSchema, snake } from './settings.js';

export const BEGIN = '<!-- configuration tables: generated from the schema by `npm run docs:config`; do not edit by hand -->';
export const END = '<!-- end of the generated configuration tables -->';

function cell(value: unknown): string {
  if (value === undefined || value === '') return '(none)';
  return `\`${JSON.stringify(value)}\``;
}

function escape(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** configTables is the markdown of every setting: the hub's, then the engine's and the simulator's nested ones. */
export function configTables(): string {
  const lines = ['| file key | flag | environment | values | default | meaning |', '| --- | --- | --- | --- | --- | --- |'];
  for (const s of SETTINGS) {
    const flag = s.where === 'all' ? `\`${flagName(s.key)}\`` : s.where === 'secret' ? '(none: flags show in `ps`)' : 'file only';
    const env = s.where === 'file' ? '' : `\`${envName(s.key)}\``;
    const values = settingSchema(s).meta.values;
    lines.push(`| \`${snake(s.key)}\` | ${flag} | ${env} | ${escape(values)} | ${cell(DEFAULT_HUB_CONFIG[s.key])} | ${escape(s.doc)} |`);
  }
  const nested = (title: string, prefix: string, rows: ReturnType<typeof fieldDocs>) => [
    '',
    title,
    '',
    '| key | values | default | meaning |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| \`${prefix}.${r.path}\` | ${escape(r.values)} | ${cell(r.default)} | ${escape(r.doc)} |`),
  ];
  lines.push(...nested('The `spawnkeeper` section (the engine; durations in milliseconds):', 'spawnkeeper', fieldDocs(HUB_ENGINE_SCHEMA)));
  lines.push(...nested('The `sim` section (the embedded simulator):', 'sim', fieldDocs(SIM_SCHEMA)));
  return lines.join('\n');
}

/** withTables puts freshly generated tables between the markers of a document. */
export function withTables(doc: string): string {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start === -1 || end < start) throw new Error(`the document lacks the markers ${BEGIN} … ${END}`);
  return `${doc.slice(0, start + BEGIN.length)}\n\n${configTables()}\n\n${doc.slice(end)}`;
}

export const HUB_DOC = fileURLToPath(new URL('../../docs/hub.md', import.meta.url));

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(HUB_DOC, withTables(readFileSync(HUB_DOC, 'utf8')));
  process.stdout.write(`wrote the configuration tables of ${HUB_DOC}\n`);
}
