/**
 * Line logger with component tags and secret redaction.
 *
 * Every line passes through `redact()`, which replaces every registered secret (access codes,
 * viewer codes, passwords) with `***`, so a secret cannot reach a log line even by accident.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogSink = (line: string, level: LogLevel) => void;

const secrets = new Set<string>();
let sink: LogSink = (line, level) => {
  (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(`${line}\n`);
};
let threshold: number = LEVELS.info;

/** Remember a value that must never appear in output. Short values are ignored (they would mangle text). */
export function registerSecret(value: string | null | undefined): void {
  if (value && value.length >= 4) secrets.add(value);
}

/** Replace every registered secret in `text` with `***`. */
export function redact(text: string): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('***');
  return out;
}

export function setLogSink(next: LogSink): LogSink {
  const prev = sink;
  sink = next;
  return prev;
}

export function setLogLevel(level: LogLevel): void {
  threshold = LEVELS[level];
}

function format(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

export class Logger {
  constructor(private readonly tags: string[] = []) {}

  child(tag: string): Logger {
    return new Logger([...this.tags, tag]);
  }

  debug(...parts: unknown[]): void {
    this.write('debug', parts);
  }
  info(...parts: unknown[]): void {
    this.write('info', parts);
  }
  warn(...parts: unknown[]): void {
    this.write('warn', parts);
  }
  error(...parts: unknown[]): void {
    this.write('error', parts);
  }

  private write(level: LogLevel, parts: unknown[]): void {
    if (LEVELS[level] < threshold) return;
    const prefix = this.tags.map((t) => `[${t}]`).join(' ');
    const text = parts.map(format).join(' ');
    const line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${prefix}${prefix ? ' ' : ''}${text}`;
    sink(redact(line), level);
  }
}

export const rootLogger = new Logger();
