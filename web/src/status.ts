/** /api/printers as the page and the card read it: the gateway's own type (src/output/api-types.ts). */
import type { SourceState } from '../../src/output/api-types';

export type { PrinterStatus, SourceState } from '../../src/output/api-types';

/** Every source state in words; a state added to the gateway without words here fails the type check. */
export const STATE_TEXT: Record<SourceState, string> = {
  streaming: 'live',
  connecting: 'connecting',
  idle: 'starting',
  offline: 'offline',
  auth_failed: 'wrong access code',
  liveview_off: 'LAN liveview is off',
  stopped: 'stopped',
};
