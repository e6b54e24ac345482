/**
 * Re-serving the printer's MQTT (PROTOCOLS.md §5, §7): what a client's request asks for, the answers
 * bambucam gives from its own state in the printer's format, topic filter matching, and hiding the
 * codes in what bambucam publishes. Pure: no I/O.
 */

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Whether an MQTT topic filter matches a topic (MQTT 3.1.1 §4.7): `+` is one level, a final `#` is
 * the rest including the parent level; filters starting with a wildcard never match `$` topics.
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** What a client's publish on `device/<serial>/request` asks for. */
export type ClientRequest =
  /** `pushing.pushall`: the full state, answered from bambucam's merged state. */
  | { kind: 'pushall'; sequenceId: unknown }
  /** `info.get_version`: answered from the cached answer. */
  | { kind: 'get_version'; sequenceId: unknown }
  /** Other `pushing` commands (start, stop): bambucam's own link keeps the printer pushing for everyone. */
  | { kind: 'pushing'; command: string }
  /** `system.get_access_code`: never forwarded (the printer would broadcast its code). */
  | { kind: 'secret'; command: string }
  /** Anything else: a command for the printer (forwarded for read-write clients). */
  | { kind: 'command'; command: string }
  /** Not a JSON object: the printer would ignore it, so it is not forwarded. */
  | { kind: 'invalid' };

/** Requests that only read, allowed to read-only clients too. */
export const isReadRequest = (r: ClientRequest): boolean =>
  r.kind === 'pushall' || r.kind === 'get_version' || r.kind === 'pushing';

export function classifyRequest(payload: Buffer | string): ClientRequest {
  let message: unknown;
  try {
    message = JSON.parse(payload.toString());
  } catch {
    return { kind: 'invalid' };
  }
  if (!isObject(message)) return { kind: 'invalid' };
  const pushing = message.pushing;
  if (isObject(pushing)) {
    if (pushing.command === 'pushall') return { kind: 'pushall', sequenceId: pushing.sequence_id ?? '0' };
    return { kind: 'pushing', command: String(pushing.command ?? '') };
  }
  const info = message.info;
  if (isObject(info) && info.command === 'get_version')
    return { kind: 'get_version', sequenceId: info.sequence_id ?? '0' };
  const system = message.system;
  if (isObject(system) && system.command === 'get_access_code')
    return { kind: 'secret', command: 'system.get_access_code' };
  for (const [family, body] of Object.entries(message)) {
    if (isObject(body) && typeof body.command === 'string')
      return { kind: 'command', command: `${family}.${body.command}` };
  }
  return { kind: 'command', command: Object.keys(message)[0] ?? '' };
}

/**
 * A full report as the printer sends one after pushall: the merged `print` state with
 * `command: push_status`, `msg: 0` and the asker's own `sequence_id`.
 */
export function fullStateReport(state: Json, sequenceId: unknown): Json {
  return { print: { ...state, command: 'push_status', msg: 0, sequence_id: sequenceId } };
}

/** The printer's cached `get_version` answer, with the asker's `sequence_id`. */
export function versionReport(info: Json, sequenceId: unknown): Json {
  return { info: { ...info, sequence_id: sequenceId } };
}

/** A `print` report that carries the full state: push_status with `msg: 0` (P1 deltas have `msg: 1`). */
export function isFullReport(message: Json | null): boolean {
  const print = message?.print;
  return isObject(print) && print.command === 'push_status' && print.msg === 0;
}

/**
 * The payload with every occurrence of the codes replaced by `*` of the same length. Printers answer
 * `get_access_code` to every subscriber, so a report may carry the code; clients never get it.
 * Returns the same Buffer when no code occurs (the common case costs one search per code).
 */
export function hideCodes(payload: Buffer, codes: readonly Buffer[]): Buffer {
  let out = payload;
  for (const code of codes) {
    if (code.length === 0) continue;
    let at = out.indexOf(code);
    if (at < 0) continue;
    if (out === payload) out = Buffer.from(payload);
    while (at >= 0) {
      out.fill(0x2a, at, at + code.length);
      at = out.indexOf(code, at + code.length);
    }
  }
  return out;
}
