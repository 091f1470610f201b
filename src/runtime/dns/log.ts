/**
 * A small structured logger: one line per event, as text or JSON.
 * Never called per query on the hot path; upstream failures and lifecycle only.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Text values are quoted when they hold spaces, quotes, `=` or control characters. */
function textValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  return /[\s"=\\\u0000-\u001f\u007f]/.test(s) || s === '' ? JSON.stringify(s) : s;
}

export function createLogger(opts: { format?: LogFormat; level?: LogLevel; write?: (line: string) => void } = {}): Logger {
  const format = opts.format ?? 'text';
  const min = ORDER[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const log = (level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void => {
    if (ORDER[level] < min) return;
    const time = new Date().toISOString();
    if (format === 'json') {
      write(`${JSON.stringify({ time, level, msg, ...fields })}\n`);
    } else {
      const extra = Object.entries(fields)
        .map(([k, v]) => `${k}=${textValue(v)}`)
        .join(' ');
      write(`${time} ${level.toUpperCase()} ${textValue(msg).replace(/^"|"$/g, '')}${extra ? ` ${extra}` : ''}\n`);
    }
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
  };
}

/** A logger that drops everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
