// Two projects: `unit` (pure code, fakes at the boundary, fake timers; seconds) and `e2e` (real
// servers, ffmpeg, brokers and a browser on loopback; minutes). `npm test` runs both,
// `npm run test:unit` / `npm run test:e2e` one. Membership is by folder: test/unit/**,
// test/protocol/** and test/fuzz/** (the parsers' property tests) are unit, every other test file
// is e2e (a new file is never left out).
const UNIT = ['<rootDir>/test/unit/', '<rootDir>/test/protocol/', '<rootDir>/test/fuzz/'];

const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  setupFiles: ['<rootDir>/test/setup.ts'],
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...shared,
      displayName: 'unit',
      roots: ['<rootDir>/test'],
      testMatch: UNIT.map((dir) => `${dir}**/*.test.ts`),
      // Only the web page's bundle (one test reads it); no TypeScript build.
      globalSetup: '<rootDir>/test/global-setup-web.js',
    },
    {
      ...shared,
      displayName: 'e2e',
      roots: ['<rootDir>/test', '<rootDir>/src'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...UNIT],
      globalSetup: '<rootDir>/test/global-setup.js',
    },
  ],
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  testTimeout: 30000,
  // Tests boot real servers and ffmpeg; two cores are shared, so keep parallelism modest.
  maxWorkers: 2,
};
