/**
 * Child process: one simulated X1C's MQTT side for the MQTT fan-out benchmark: a full report every
 * second (the X1's rate), each stamped with its send time. argv: key file, cert file. Answers
 * {cmd:'stats'} with the simulator's counters and the size of the last report.
 */
import { readFileSync } from 'node:fs';
import { SimulatedMqttPrinter } from '../../src/simulator/mqtt-broker';

export const BENCH_SERIAL = '00M00A000000042';
export const BENCH_CODE = 'benchcode';

async function main() {
  const [keyFile, certFile] = process.argv.slice(2);
  const sim = new SimulatedMqttPrinter({
    serial: BENCH_SERIAL,
    accessCode: BENCH_CODE,
    model: 'X1C',
    fullReports: true,
    stampReports: true,
    reportIntervalMs: Number(process.env.BENCH_REPORT_MS ?? 1000),
    identity: { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') },
  });
  let lastReportBytes = 0;
  sim.on('report', (p: string) => {
    lastReportBytes = Buffer.byteLength(p);
  });
  await sim.start();
  process.send?.({ port: sim.port });
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'stats') process.send?.({ ...sim.stats, lastReportBytes });
  });
  process.on('SIGTERM', () => void sim.stop().then(() => process.exit(0)));
}

if (require.main === module) void main();
