/**
 * Child process for bench/rtsp.ts: N minimal RTSP viewers (DESCRIBE, SETUP, PLAY over TCP) that
 * read and count bytes, kept out of the gateway's process so its CPU figure is the gateway's own.
 * Usage: node rtsp-viewers.js <url> <n>. Prints "ready" when all play, then bytes per second.
 */
import { connect } from 'node:net';

const [url, nText] = process.argv.slice(2);
const n = Number(nText);
const { hostname, port } = new URL(url.replace(/^rtsp:/, 'http:'));
let playing = 0;
let bytes = 0;

function viewer(): void {
  const socket = connect(Number(port), hostname);
  let cseq = 0;
  let step = 0;
  let text = '';
  const send = (method: string, uri: string, extra = '') =>
    socket.write(`${method} ${uri} RTSP/1.0\r\nCSeq: ${++cseq}\r\n${extra}\r\n`);
  socket.on('connect', () => send('DESCRIBE', url));
  socket.on('data', (d: Buffer) => {
    bytes += d.length;
    if (step >= 3) return;
    text += d.toString('latin1');
    const end = text.indexOf('\r\n\r\n');
    if (end < 0) return;
    const len = Number(/Content-Length: (\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
    if (text.length < end + 4 + len) return;
    const head = text.slice(0, end);
    text = text.slice(end + 4 + len);
    step++;
    if (step === 1) send('SETUP', `${url}/track1`, 'Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n');
    else if (step === 2) {
      const session = /Session: ([^;\r\n]+)/i.exec(head)?.[1] ?? '';
      send('PLAY', url, `Session: ${session}\r\n`);
    } else if (++playing === n) process.stdout.write('ready\n');
  });
  socket.on('error', (err) => {
    process.stderr.write(`viewer: ${err.message}\n`);
  });
}

for (let i = 0; i < n; i++) viewer();
setInterval(() => {
  process.stdout.write(`bytes ${bytes}\n`);
  bytes = 0;
}, 1000);
