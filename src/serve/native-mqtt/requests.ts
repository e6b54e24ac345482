/**
 * What happens to a client's publish on `device/<serial>/request` (issue 12, PROTOCOLS.md §7):
 * pushall and get_version are answered from bambucam's state at once (the printer is asked only when
 * that state is incomplete, within the model's pushall limit); commands from read-write clients go to
 * the printer unchanged, at most `ratePerS` a second per client; read-only clients' commands are
 * refused; get_access_code is never forwarded (the printer would broadcast its code).
 */
import type { Logger } from '../../log';
import type { PrinterMqtt } from '../../output/printer-mqtt';
import { classifyRequest, fullStateReport, versionReport } from '../../protocol/mqtt-reserve';
import type { TokenBucket } from './token-bucket';

type Json = Record<string, unknown>;

/** The client a request came from, as far as requests care. */
export interface Requester {
  readonly remote: string;
  readonly readOnly: boolean;
  readonly bucket: TokenBucket;
}

export interface RequestCounters {
  /** Commands sent to the printer. */
  forwarded: number;
  /** Commands from read-only (viewer code) clients, not sent. */
  refused: number;
  /** Commands over a client's rate limit, not sent. */
  rateLimited: number;
  /** Commands that arrived while the printer was not connected, not sent. */
  printerOffline: number;
  /** get_access_code requests, never sent. */
  withheld: number;
  /** Payloads that are not a JSON object, not sent. */
  invalid: number;
  /** pushall and get_version answered from bambucam's state. */
  pushallAnswered: number;
  versionAnswered: number;
  /** pushall requests that made bambucam ask the printer (its state was incomplete). */
  pushallUpstream: number;
}

export const newRequestCounters = (): RequestCounters => ({
  forwarded: 0,
  refused: 0,
  rateLimited: 0,
  printerOffline: 0,
  withheld: 0,
  invalid: 0,
  pushallAnswered: 0,
  versionAnswered: 0,
  pushallUpstream: 0,
});

export class RequestRouter {
  constructor(
    private readonly link: PrinterMqtt,
    readonly counters: RequestCounters,
    private readonly log: Logger,
  ) {}

  /** Handle one request; returns the answer for this client alone, or null. */
  handle(from: Requester, payload: Buffer): Json | null {
    const request = classifyRequest(payload);
    const c = this.counters;
    switch (request.kind) {
      case 'pushall': {
        if (!this.link.stateComplete && this.link.requestPushall()) c.pushallUpstream++;
        // Never had the whole state (just started): the printer's own answer to the pushall bambucam
        // sent on connecting reaches every subscriber; a few fields would be no full state.
        if (this.link.fullStateAt === null) return null;
        c.pushallAnswered++;
        return fullStateReport(this.link.state, request.sequenceId);
      }
      case 'get_version': {
        const info = this.link.versionInfo;
        if (info) {
          c.versionAnswered++;
          return versionReport(info, request.sequenceId);
        }
        // Not known yet: ask the printer (a read, so read-only clients may); its answer reaches everyone.
        this.send(from, payload, 'info.get_version');
        return null;
      }
      case 'pushing':
        // start/stop would change what everyone gets; bambucam's own link keeps the printer pushing.
        return null;
      case 'secret':
        c.withheld++;
        this.log.info(
          `${from.remote}: ${request.command} is never forwarded (the printer would send its code to everyone)`,
        );
        return null;
      case 'invalid':
        c.invalid++;
        return null;
      case 'command':
        if (from.readOnly) {
          c.refused++;
          this.log.debug(`${from.remote}: refused ${request.command} from a read-only (viewer code) client`);
          return null;
        }
        this.send(from, payload, request.command);
        return null;
    }
  }

  private send(from: Requester, payload: Buffer, what: string): void {
    const c = this.counters;
    if (!from.bucket.take()) {
      c.rateLimited++;
      return;
    }
    if (!this.link.forward(payload)) {
      c.printerOffline++;
      this.log.debug(`${from.remote}: ${what} not sent, the printer is not connected`);
      return;
    }
    c.forwarded++;
  }
}
