/**
 * The configuration reference (docs/configuration.md) made from the schema, so every key's
 * documentation comes from the one place that also validates it.
 */
import { gatewaySchema, printerSchema } from './schema';

interface Leaf {
  doc: string;
  default: unknown;
  env?: string;
  sensitive?: boolean;
}

function isLeaf(node: unknown): node is Leaf {
  return typeof node === 'object' && node !== null && 'doc' in node && 'default' in node;
}

/** Every key of a schema as [dotted path, leaf]. */
export function schemaKeys(schema: object, prefix = ''): [string, Leaf][] {
  return Object.entries(schema).flatMap(([key, node]) =>
    isLeaf(node)
      ? [[`${prefix}${key}`, node] as [string, Leaf]]
      : schemaKeys(node as object, `${prefix}${key}.`),
  );
}

function row([key, leaf]: [string, Leaf]): string {
  const def = leaf.sensitive ? '(secret)' : `\`${JSON.stringify(leaf.default)}\``;
  const env = leaf.env ? `\`${leaf.env}\`` : '';
  return `| \`${key}\` | ${def} | ${env} | ${leaf.doc.replace(/\|/g, '\\|')} |`;
}

export function configReference(): string {
  const head = '| key | default | env | meaning |\n|---|---|---|---|';
  return [
    '## Gateway keys',
    '',
    head,
    ...schemaKeys(gatewaySchema).map(row),
    '',
    '## Printer keys (each entry of `printers:`)',
    '',
    head,
    ...schemaKeys(printerSchema).map(([k, l]) => row([`printers[].${k}`, l])),
    '',
  ].join('\n');
}

const INTRO = `# Configuration reference

bambucam reads a YAML file (\`bambucam run --config FILE\`, or \`BAMBUCAM_CONFIG\`, or \`./bambucam.yaml\`);
[config/bambucam.example.yaml](../config/bambucam.example.yaml) shows every key with comments. Keys are
snake_case. Environment variables in the \`env\` column override the file.

Without a file, one printer can be given with \`--printer-ip\`, \`--access-code\`, \`--serial\` (or the
environment variables \`PRINTER_IP\`, \`ACCESS_CODE\`, \`SERIAL\`). With no configuration at all,
bambucam runs the demo.

A mistake in a printer entry is reported with its key and the rule
(\`printers[1].host: must be a host name or IP address\`) and that printer is skipped; the others run.
A mistake outside \`printers\` stops bambucam with the same kind of message. YAML syntax errors give
the file, line and column.

This page is generated from \`src/config/schema.ts\` by \`npm run docs:config\`; a test checks it is
current.

`;

if (require.main === module) process.stdout.write(INTRO + configReference());
