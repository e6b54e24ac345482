/** Where and as whom a printer serves its camera over RTSPS (PROTOCOLS.md §4). */
export const RTSPS_USER = 'bblp';
export const RTSPS_PATH = '/streaming/live/1';
/** The Digest realm of the printers' LIVE555 server; clients that re-use a printer's URL expect it. */
export const LIVE555_REALM = 'LIVE555 Streaming Media';
