/**
 * What a server that stands in for a printer offers (PROTOCOLS.md §2): TLS 1.2 with the modern
 * ECDHE suites first and the plain-RSA key exchange suites printers use, so every client of a
 * real printer can connect.
 */
export const PRINTER_TLS_CIPHERS = [
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'AES256-GCM-SHA384',
  'AES128-GCM-SHA256',
].join(':');
