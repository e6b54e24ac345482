/** Printer models and their camera transport (PROTOCOLS.md §1). */

export type CameraKind = 'chamber' | 'rtsps';

export interface ModelInfo {
  /** The name users write in `model:` (case-insensitive). */
  name: string;
  /** Marketing name as MQTT `product_name` spells it, without "Bambu Lab ". */
  product: string;
  serialPrefixes: string[];
  codes: string[];
  camera: CameraKind;
}

export const MODELS: readonly ModelInfo[] = [
  { name: 'X1C', product: 'X1 Carbon', serialPrefixes: ['00M'], codes: ['BL-P001'], camera: 'rtsps' },
  { name: 'X1', product: 'X1', serialPrefixes: ['00W'], codes: ['BL-P002'], camera: 'rtsps' },
  { name: 'X1E', product: 'X1E', serialPrefixes: ['03W'], codes: ['C13'], camera: 'rtsps' },
  { name: 'P1P', product: 'P1P', serialPrefixes: ['01S'], codes: ['C11'], camera: 'chamber' },
  { name: 'P1S', product: 'P1S', serialPrefixes: ['01P'], codes: ['C12'], camera: 'chamber' },
  { name: 'A1', product: 'A1', serialPrefixes: ['039'], codes: ['N2S'], camera: 'chamber' },
  { name: 'A1MINI', product: 'A1 mini', serialPrefixes: ['030'], codes: ['N1'], camera: 'chamber' },
  { name: 'A2L', product: 'A2L', serialPrefixes: ['26A19'], codes: ['N9'], camera: 'chamber' },
  { name: 'P2S', product: 'P2S', serialPrefixes: ['22E'], codes: ['N7'], camera: 'rtsps' },
  { name: 'H2S', product: 'H2S', serialPrefixes: ['093'], codes: ['O1S'], camera: 'rtsps' },
  { name: 'H2D', product: 'H2D', serialPrefixes: ['094'], codes: ['O1D', 'O1E', 'O2D'], camera: 'rtsps' },
  { name: 'H2C', product: 'H2C', serialPrefixes: ['31B8B'], codes: ['O1C', 'O1C2'], camera: 'rtsps' },
  { name: 'X2D', product: 'X2D', serialPrefixes: ['20P9'], codes: ['N6'], camera: 'rtsps' },
];

const squash = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]/g, '');

/** Find a model by the name a user wrote ("P1S", "a1 mini", "X1 Carbon"). */
export function modelByName(name: string): ModelInfo | undefined {
  const key = squash(name);
  return MODELS.find((m) => m.name === key || squash(m.product) === key);
}

/** Find a model by serial number prefix (longest prefix wins). */
export function modelBySerial(serial: string): ModelInfo | undefined {
  const s = serial.toUpperCase();
  let best: ModelInfo | undefined;
  let bestLen = 0;
  for (const m of MODELS) {
    for (const p of m.serialPrefixes) {
      if (s.startsWith(p) && p.length > bestLen) {
        best = m;
        bestLen = p.length;
      }
    }
  }
  return best;
}

export const MODEL_NAMES = MODELS.map((m) => m.name);

/** Find a model by MQTT `product_name` ("Bambu Lab X1 Carbon") or model code ("C12"). */
export function modelByProduct(productName: string): ModelInfo | undefined {
  const name = productName.replace(/^\s*bambu\s*lab\s*/i, '');
  const code = productName.trim().toUpperCase();
  return modelByName(name) ?? MODELS.find((m) => m.codes.includes(code));
}
