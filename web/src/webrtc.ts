/**
 * A WHEP client (draft-ietf-wish-whep, RFC 9725 mechanics) for one <video>: POST a recvonly video
 * offer, play the answer's track, DELETE the session when done. bambucam is an ICE-lite server that
 * announces all its candidates in the answer, so the offer goes at once, without waiting for the
 * browser's own candidates, and no STUN server is configured.
 */

export class WhepError extends Error {
  override name = 'WhepError';
  constructor(
    message: string,
    /** HTTP status of the POST, 0 when the request itself failed. */
    readonly status: number,
    /** The gateway's error code (`no_video_yet`, `webrtc_unavailable`, ...), or null. */
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

export interface WhepCallbacks {
  /** The peer connection failed or closed after it had connected. */
  onLost(reason: string): void;
}

export class WhepClient {
  readonly pc: RTCPeerConnection;
  private location: string | null = null;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly video: HTMLVideoElement,
    private readonly callbacks: WhepCallbacks,
  ) {
    this.pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  }

  /** Negotiate; resolves once the answer is applied (not yet playing). Throws WhepError. */
  async start(): Promise<void> {
    const { pc } = this;
    const transceiver = pc.addTransceiver('video', { direction: 'recvonly' });
    // Play each picture as soon as it is decoded: the printer's camera is live, nothing to smooth.
    const receiver = transceiver.receiver as RTCRtpReceiver & { jitterBufferTarget?: number | null };
    if ('jitterBufferTarget' in receiver) receiver.jitterBufferTarget = 0;
    pc.ontrack = (e) => {
      this.video.srcObject = e.streams[0] ?? new MediaStream([e.track]);
      void this.video.play().catch(() => {});
    };
    pc.onconnectionstatechange = () => {
      if (this.closed) return;
      if (pc.connectionState === 'failed') this.callbacks.onLost('the WebRTC connection failed');
      else if (pc.connectionState === 'closed') this.callbacks.onLost('the WebRTC connection closed');
    };
    await pc.setLocalDescription(await pc.createOffer());
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp' },
        body: pc.localDescription?.sdp,
        cache: 'no-store',
      });
    } catch (err) {
      throw new WhepError(`WebRTC offer failed: ${(err as Error).message}`, 0);
    }
    const body = await res.text();
    if (res.status !== 201) {
      let message = `HTTP ${res.status}`;
      let code: string | null = null;
      try {
        const json = JSON.parse(body) as { error?: string; message?: string };
        message = json.message ?? message;
        code = json.error ?? null;
      } catch {
        // not JSON (an older gateway's 404 page): keep the status
      }
      throw new WhepError(`WebRTC unavailable: ${message}`, res.status, code);
    }
    const location = res.headers.get('Location');
    this.location = location ? new URL(location, new URL(this.url, window.location.href)).href : null;
    if (this.closed) return this.stop();
    await pc.setRemoteDescription({ type: 'answer', sdp: body });
  }

  /** End the session on the gateway (its encoder may go idle) and here. */
  stop(): void {
    this.closed = true;
    if (this.location) {
      // keepalive: the DELETE still goes out when the page is being closed.
      void fetch(this.location, { method: 'DELETE', keepalive: true }).catch(() => {});
      this.location = null;
    }
    this.pc.close();
    if (this.video.srcObject) this.video.srcObject = null;
  }
}
