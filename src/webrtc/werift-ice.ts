/**
 * The one place that reaches into werift's ICE agent (werift 0.24.4, pinned in package.json).
 *
 * werift opens one UDP socket per peer and address, on a random port or one from a range. bambucam
 * wants every peer on ONE fixed port, so each peer's agent gets, instead of werift's own gathering,
 * a single werift StunProtocol whose transport is a session of the shared UdpMux, and the host
 * candidates from the configuration (the addresses the port is reachable at). The agent is ICE lite
 * (RFC 8445 §2.5): it sends no connectivity checks, only answers the browser's, so no packet goes to
 * an address that has not reached us first, and no STUN server is ever asked.
 */
import {
  Candidate,
  candidateFoundation,
  candidatePriority,
  parseMessage,
  type RTCPeerConnection,
  StunProtocol,
} from 'werift';
import type { MuxSession, UdpAddress, UdpMux } from './udp-mux';

/** An address:port announced as a host candidate. */
export interface AnnouncedAddress {
  host: string;
  port: number;
}

/** The parts of werift's ICE Connection (packages/ice/src/ice.ts) this module uses. */
interface IceAgent {
  localUsername: string;
  localPassword: string;
  generation: number;
  protocols: StunProtocol[];
  ensureProtocol(protocol: StunProtocol): void;
  appendLocalCandidate(candidate: Candidate): void;
  getCandidatePromises(addresses: string[], timeout?: number): Promise<Candidate | undefined>[];
}

interface Receiver {
  datagramReceived(data: Buffer, addr: UdpAddress): void;
}

/** What werift's StunProtocol expects of its transport (packages/common/src/transport.ts). */
class MuxTransport {
  readonly type = 'udp';
  closed = false;
  onData: (data: Buffer, addr: UdpAddress) => void = () => {};

  constructor(
    private readonly session: MuxSession,
    readonly socketType: 'udp4' | 'udp6',
    private readonly local: AnnouncedAddress,
  ) {}

  get address(): { address: string; port: number; family: string } {
    return {
      address: this.local.host,
      port: this.local.port,
      family: this.socketType === 'udp6' ? 'IPv6' : 'IPv4',
    };
  }

  async send(data: Buffer, addr?: UdpAddress): Promise<void> {
    if (addr) this.session.send(data, addr);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.session.close();
  }
}

function agentOf(pc: RTCPeerConnection): IceAgent {
  const transport = pc.iceTransports[0];
  if (!transport) throw new Error('werift: no ICE transport after the offer (no media section?)');
  return transport.connection as unknown as IceAgent;
}

/**
 * Put the peer's ICE agent on the shared port. Call after setRemoteDescription (which makes the
 * transport) and before setLocalDescription (which gathers). Returns the mux session, closed with
 * the peer connection.
 */
export function attachToMux(pc: RTCPeerConnection, mux: UdpMux, announced: AnnouncedAddress[]): MuxSession {
  if (announced.length === 0) throw new Error('no address to announce as an ICE candidate');
  const agent = agentOf(pc);
  const protocol = new StunProtocol();
  const session = mux.open(agent.localUsername, {
    // What werift's own UDP transport does with a datagram (StunProtocol.datagramReceived is private).
    onDatagram: (data, from) => (protocol as unknown as Receiver).datagramReceived(data, from),
    authenticate: (request) => parseMessage(request, Buffer.from(agent.localPassword, 'utf8')) !== undefined,
  });
  const first = announced[0];
  const transport = new MuxTransport(session, first.host.includes(':') ? 'udp6' : 'udp4', first);
  protocol.transport = transport as unknown as StunProtocol['transport'];
  protocol.localIp = first.host;
  const candidates = announced.map(
    ({ host, port }, i) =>
      new Candidate(
        candidateFoundation('host', 'udp', host),
        1,
        'udp',
        // The first address is preferred; all reach the same socket.
        candidatePriority('host', { transport: 'udp', localPreference: 65535 - i }),
        host,
        port,
        'host',
        undefined,
        undefined,
        undefined,
        agent.generation,
        agent.localUsername,
      ),
  );
  protocol.localCandidate = candidates[0];
  agent.getCandidatePromises = () => {
    agent.ensureProtocol(protocol);
    agent.protocols.push(protocol);
    for (const c of candidates) agent.appendLocalCandidate(c);
    return candidates.map((c) => Promise.resolve(c));
  };
  return session;
}
