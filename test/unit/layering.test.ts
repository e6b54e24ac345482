/**
 * The import rules of issue 9 ("Done when"): outputs see a narrow printer view, not the worker; the
 * hub knows no transport; the simulated printers share no serving or client code with the gateway
 * they are tested against (a bug there would be mirrored on both sides and never seen).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { preProcessFile } from 'typescript';

const ROOT = join(__dirname, '..', '..');
const SRC = join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every module a file imports (static, type-only, re-exports, `import()`, `require`), as repo paths. */
function importsOf(file: string): string[] {
  const { importedFiles } = preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles
    .map((f) => f.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => relative(ROOT, resolve(dirname(file), name)).replace(/\.(ts|js)$/, ''));
}

const files = sourceFiles(SRC).map((abs) => ({ path: relative(ROOT, abs), imports: importsOf(abs) }));

/** `importer → imported` for every import from a file under `from` of a module matched by `banned`. */
function violations(from: string[], banned: (module: string) => boolean): string[] {
  return files
    .filter((f) => from.some((dir) => f.path.startsWith(`${dir}/`)))
    .flatMap((f) => f.imports.filter(banned).map((m) => `${f.path} → ${m}`));
}

const under = (dir: string) => (module: string) => module === dir || module.startsWith(`${dir}/`);

describe('layering (issue 9)', () => {
  test('the scanner sees imports of every kind (else the rules below would pass vacuously)', () => {
    const app = files.find((f) => f.path === 'src/app.ts');
    expect(app?.imports).toContain('src/worker');
    expect(files.length).toBeGreaterThan(40);
    const seen = importsOf(join(SRC, 'cli.ts'));
    // cli.ts loads the simulator lazily (`await import(...)` or `require`).
    expect(seen.some(under('src/simulator'))).toBe(true);
  });

  test('no file under src/serve/, src/hls/, src/ha/ or src/wall/ imports src/worker.ts', () => {
    expect(violations(['src/serve', 'src/hls', 'src/ha', 'src/wall'], (m) => m === 'src/worker')).toEqual([]);
  });

  test('no file under src/hub/ imports anything RTSP or RTP', () => {
    expect(violations(['src/hub'], under('src/protocol/rtsp'))).toEqual([]);
  });

  test('no file under src/simulator/ imports src/serve/ or src/source/', () => {
    const banned = (m: string) => under('src/serve')(m) || under('src/source')(m);
    expect(violations(['src/simulator'], banned)).toEqual([]);
  });
});
