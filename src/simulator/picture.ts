/**
 * Pictures for the simulated camera: 1280×720 JFIF JPEGs that visibly change (printer name, clock,
 * frame counter, a moving print head), rendered with sharp from SVG.
 */
import sharp from 'sharp';
import { ensureJfif } from '../protocol/jpeg';
import { svgText, textWidth } from './font';
import { timecodeSvg } from './timecode';

export const WIDTH = 1280;
export const HEIGHT = 720;

export interface PictureInfo {
  name: string;
  frame: number;
  time: Date;
  width?: number;
  height?: number;
  /** Also draw the machine-readable clock strip (src/simulator/timecode.ts), for latency benchmarks. */
  timecode?: boolean;
}

function clock(t: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}.${p(t.getMilliseconds(), 3)}`;
}

export function pictureSvg(info: PictureInfo): string {
  const w = info.width ?? WIDTH;
  const h = info.height ?? HEIGHT;
  const t = info.time.getTime();
  const headX = Math.round(w * 0.2 + (w * 0.6 * (1 + Math.sin(t / 700))) / 2);
  const layers = (info.frame % 120) + 1;
  const objW = Math.round(w * 0.18);
  const bedY = Math.round(h * 0.78);
  const layerH = Math.max(1, Math.round(h / 360));
  const objH = layers * layerH;
  const time = clock(info.time);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">
<defs><linearGradient id="bg" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#1d2430"/><stop offset="1" stop-color="#3a4656"/></linearGradient>
<radialGradient id="lamp" cx="0.5" cy="0" r="0.9"><stop offset="0" stop-color="#fff6d8" stop-opacity="0.35"/><stop offset="1" stop-color="#fff6d8" stop-opacity="0"/></radialGradient></defs>
<rect width="${w}" height="${h}" fill="url(#bg)" opacity="0.8"/><rect width="${w}" height="${h}" fill="url(#lamp)"/>
<rect x="${Math.round(w * 0.12)}" y="${bedY}" width="${Math.round(w * 0.76)}" height="${Math.round(h * 0.05)}" fill="#111" stroke="#555" stroke-width="3"/>
<rect x="${Math.round(w / 2 - objW / 2)}" y="${bedY - objH}" width="${objW}" height="${objH}" fill="#2ea44f"/>
<rect x="0" y="${Math.round(h * 0.18)}" width="${w}" height="${Math.round(h * 0.02)}" fill="#8a8f98"/>
<rect x="${headX - 40}" y="${Math.round(h * 0.14)}" width="80" height="${Math.round(h * 0.12)}" fill="#d0d4da" stroke="#222" stroke-width="3"/>
<rect x="${headX - 6}" y="${Math.round(h * 0.26)}" width="12" height="${Math.round(h * 0.03)}" fill="#e36209"/>
<rect x="20" y="${h - 90}" width="${Math.max(textWidth(info.name, 6), textWidth(time, 6)) + 40}" height="80" fill="#000" opacity="0.55"/>
${svgText(info.name, 40, h - 80, 6, '#ffffff')}
${svgText(time, 40, h - 32, 3, '#ffd33d')}
${svgText(`FRAME ${info.frame}`, 40 + textWidth(time, 3) + 30, h - 32, 3, '#9ecbff')}
<rect x="${w - 150}" y="20" width="130" height="44" rx="8" fill="#b31d28"/>${svgText('SIM', w - 128, 29, 4, '#ffffff')}
${info.timecode ? timecodeSvg(t) : ''}
</svg>`;
}

const noiseCache = new Map<string, Buffer>();

/** Sensor-like grain under the scene, so frames compress like a camera's (~50 KB), not like a drawing. */
function noise(w: number, h: number): Buffer {
  const key = `${w}x${h}`;
  let buf = noiseCache.get(key);
  if (!buf) {
    buf = Buffer.alloc(w * h * 3);
    let x = 0x2545f491;
    for (let i = 0; i < buf.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      buf[i] = (x >>> 0) % 48;
    }
    noiseCache.set(key, buf);
  }
  return buf;
}

/** Render one JFIF JPEG (starts FF D8 FF E0, as real printers' frames do). */
export async function renderPicture(info: PictureInfo, quality = 80): Promise<Buffer> {
  const width = info.width ?? WIDTH;
  const height = info.height ?? HEIGHT;
  const jpeg = await sharp(noise(width, height), { raw: { width, height, channels: 3 } })
    .composite([{ input: Buffer.from(pictureSvg(info)) }])
    .jpeg({ quality, chromaSubsampling: '4:2:0' })
    .toBuffer();
  return ensureJfif(jpeg);
}
