/**
 * The TLS 1.2 suites bambucam's servers (and the simulated printers) offer. Printers speak TLS 1.2
 * with plain-RSA key exchange (PROTOCOLS.md §2), so the plain-RSA GCM suites are kept after the
 * modern ones for clients that only know those.
 */
export const TLS_SERVER_CIPHERS = [
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'AES256-GCM-SHA384',
  'AES128-GCM-SHA256',
].join(':');
