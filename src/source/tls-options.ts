/**
 * TLS client options for a printer. Printers present a leaf `CN=<serial>` signed by Bambu's
 * private CA with no subjectAltName (PROTOCOLS.md §2), so by default we accept it; users can pin
 * the certificate's SHA-256 fingerprint or give the CA file (host name check off, as peers do).
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions, TLSSocket } from 'node:tls';

export interface PrinterTlsConfig {
  fingerprint: string | null;
  caFile: string | null;
}

export function normalizeFingerprint(fp: string): string {
  return fp.replace(/[^0-9a-f]/gi, '').toUpperCase();
}

export function printerTlsOptions(tls: PrinterTlsConfig, serial: string | null): ConnectionOptions {
  const opts: ConnectionOptions = {
    minVersion: 'TLSv1.2',
    rejectUnauthorized: false,
  };
  if (serial) opts.servername = serial;
  if (tls.caFile) {
    opts.ca = readFileSync(tls.caFile);
    opts.rejectUnauthorized = true;
    // The printer's certificate names its serial, not its address.
    opts.checkServerIdentity = () => undefined;
  }
  return opts;
}

/** Null when the peer matches the pin (or no pin is set), else a message saying what is wrong. */
export function checkPinnedFingerprint(socket: TLSSocket, tls: PrinterTlsConfig): string | null {
  if (!tls.fingerprint) return null;
  const cert = socket.getPeerCertificate();
  const got = cert?.fingerprint256 ? normalizeFingerprint(cert.fingerprint256) : '';
  if (got === normalizeFingerprint(tls.fingerprint)) return null;
  return `printer certificate fingerprint ${got || '(none)'} does not match tls.fingerprint`;
}
