// Quiet logs during tests unless BAMBUCAM_TEST_LOGS=1; tests that assert on logs use captureLogs().
import { setLogSink } from '../src/log';

if (!process.env.BAMBUCAM_TEST_LOGS) setLogSink(() => {});

// WebRTC in every test (and the CLI processes tests start): loopback only, on a free port — never the
// wildcard address, the interfaces' addresses as candidates, or the fixed 8555.
process.env.BAMBUCAM_WEBRTC_HOST ??= '127.0.0.1';
process.env.BAMBUCAM_WEBRTC_PORT ??= '0';
