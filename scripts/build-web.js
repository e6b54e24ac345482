// Bundles the web page and the Home Assistant card from web/src with esbuild (hls.js included:
// nothing is ever loaded from a CDN). `npm run build` runs it; so does `prepare` (npm ci).
'use strict';
const { mkdirSync, writeFileSync } = require('node:fs');
const { dirname, join } = require('node:path');
const esbuild = require('esbuild');

const ROOT = join(__dirname, '..');

/** Same inputs → same bytes: the committed card (dist/bambucam-card.js) is checked against this. */
const BUNDLES = [
  { entry: 'web/src/page.ts', out: 'dist/web/page.js' },
  { entry: 'web/src/card.ts', out: 'dist/bambucam-card.js' },
];

/** Build bundles in memory: [{ out, contents }]; `only` picks some by output path. */
async function buildBundles(only) {
  const results = [];
  for (const b of BUNDLES.filter((x) => !only || only.includes(x.out))) {
    const r = await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: [b.entry],
      bundle: true,
      minify: true,
      format: 'iife',
      target: ['chrome100', 'firefox100', 'safari15'],
      charset: 'utf8',
      legalComments: 'eof',
      write: false,
      outfile: b.out,
      logLevel: 'warning',
      // The light build: no subtitles, alternate audio, DRM or CMCD, which a printer camera never has.
      alias: { 'hls.js': 'hls.js/dist/hls.light.mjs' },
    });
    results.push({ out: b.out, contents: r.outputFiles[0].contents });
  }
  return results;
}

async function buildWeb(only) {
  for (const { out, contents } of await buildBundles(only)) {
    const file = join(ROOT, out);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, contents);
    console.log(`built ${out} (${Math.round(contents.length / 1024)} KiB)`);
  }
}

module.exports = { buildBundles, buildWeb, BUNDLES };

if (require.main === module) {
  buildWeb().catch((err) => {
    console.error(err.message);
    process.exit(1);
  });
}
