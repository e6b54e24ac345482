// The CLI tests run the built program (dist/), as users do; build it once before the suite, and the
// web page's bundle for the browser tests.
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');
const buildWebPage = require('./global-setup-web');

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
  await buildWebPage();
};
