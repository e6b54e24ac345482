// The CLI tests run the built program (dist/), as users do; build it once before the suite.
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

module.exports = async () => {
  const root = join(__dirname, '..');
  execFileSync(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  // The web page's bundle (page.js with hls.js) for the browser tests; the committed card is
  // left alone (test/unit/card-bundle.test.ts checks it is up to date).
  await require('../scripts/build-web').buildWeb(['dist/web/page.js']);
};
