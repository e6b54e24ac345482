import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const { buildBundles } = require('../../scripts/build-web') as {
  buildBundles: (only?: string[]) => Promise<{ out: string; contents: Uint8Array }[]>;
};

const ROOT = join(__dirname, '..', '..');

describe('the committed dashboard card', () => {
  test('dist/bambucam-card.js is exactly what web/src builds to (run `npm run build` and commit it)', async () => {
    const [built] = await buildBundles(['dist/bambucam-card.js']);
    const committed = readFileSync(join(ROOT, 'dist', 'bambucam-card.js'));
    expect(Buffer.from(built.contents).equals(committed)).toBe(true);
  });

  test('hacs.json names that file for the dashboard (plugin) category', () => {
    const hacs = JSON.parse(readFileSync(join(ROOT, 'hacs.json'), 'utf8'));
    expect(hacs).toMatchObject({ filename: 'bambucam-card.js', content_in_root: false });
    expect(typeof hacs.name).toBe('string');
  });

  test('the card bundle carries hls.js and loads nothing from a CDN', () => {
    for (const file of ['dist/bambucam-card.js', 'dist/web/page.js']) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      expect(text).toMatch(/MANIFEST_PARSED|manifestParsed/);
      expect(text).not.toMatch(/cdn\.jsdelivr|unpkg\.com|cdnjs/);
    }
  });
});
