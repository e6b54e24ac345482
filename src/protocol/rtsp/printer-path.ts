/** Where and as whom a printer serves its camera over RTSPS (PROTOCOLS.md §4). */
export const RTSPS_USER = 'bblp';
export const RTSPS_PATH = '/streaming/live/1';
