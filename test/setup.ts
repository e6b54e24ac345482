// Quiet logs during tests unless BAMBUCAM_TEST_LOGS=1; tests that assert on logs use captureLogs().
import { setLogSink } from '../src/log';

if (!process.env.BAMBUCAM_TEST_LOGS) setLogSink(() => {});
