/**
 * A minimal WHEP client inside a Chromium page, for tests and the benchmark: each peer POSTs a
 * recvonly video offer, plays the answer in a small <video>, and reports the browser's own
 * inbound-rtp statistics (frames decoded, resolution) and the addresses of its candidate pairs.
 */
import type { Page } from 'playwright-core';

export interface PeerStats {
  state: string;
  framesDecoded: number;
  width: number;
  height: number;
  /** Remote addresses of every candidate pair (where the browser sends). */
  remotes: string[];
}

export interface OpenedPeer {
  location: string;
  answer: string;
}

/** Open `n` WHEP peers on `whepUrl` in the page; resolves with their Locations and answers. */
export function openPeers(page: Page, whepUrl: string, n: number): Promise<OpenedPeer[]> {
  return page.evaluate(
    async ([url, count]) => {
      // biome-ignore lint/suspicious/noExplicitAny: test globals in the page
      const w = window as any;
      w.whepPeers = w.whepPeers ?? [];
      const opened: { location: string; answer: string }[] = [];
      for (let i = 0; i < (count as number); i++) {
        const pc = new RTCPeerConnection();
        pc.addTransceiver('video', { direction: 'recvonly' });
        const video = document.createElement('video');
        video.muted = true;
        video.autoplay = true;
        video.playsInline = true;
        video.width = 160;
        document.body.append(video);
        pc.ontrack = (e) => {
          video.srcObject = new MediaStream([e.track]);
        };
        await pc.setLocalDescription(await pc.createOffer());
        const res = await fetch(url as string, {
          method: 'POST',
          headers: { 'Content-Type': 'application/sdp' },
          body: pc.localDescription!.sdp,
        });
        const answer = await res.text();
        if (res.status !== 201) throw new Error(`WHEP POST answered ${res.status}: ${answer}`);
        await pc.setRemoteDescription({ type: 'answer', sdp: answer });
        const location = new URL(res.headers.get('Location')!, url as string).href;
        w.whepPeers.push({ pc, video, location });
        opened.push({ location, answer });
      }
      return opened;
    },
    [whepUrl, n] as const,
  );
}

/** Every peer's state and inbound video statistics, in opening order. */
export function peerStats(page: Page): Promise<PeerStats[]> {
  return page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: test globals in the page
    const peers = ((window as any).whepPeers ?? []) as { pc: RTCPeerConnection }[];
    return Promise.all(
      peers.map(async ({ pc }) => {
        const out = {
          state: pc.connectionState,
          framesDecoded: 0,
          width: 0,
          height: 0,
          remotes: [] as string[],
        };
        const report = await pc.getStats();
        const byId = new Map<string, Record<string, unknown>>();
        report.forEach((s) => {
          byId.set(s.id, s);
        });
        report.forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') {
            out.framesDecoded = s.framesDecoded ?? 0;
            out.width = s.frameWidth ?? 0;
            out.height = s.frameHeight ?? 0;
          }
          if (s.type === 'candidate-pair') {
            const remote = byId.get(s.remoteCandidateId);
            if (remote) out.remotes.push(String(remote.address ?? remote.ip));
          }
        });
        return out;
      }),
    );
  });
}

/** DELETE every peer's session and close it in the browser; resolves with the DELETE statuses. */
export function closePeers(page: Page): Promise<number[]> {
  return page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: test globals in the page
    const w = window as any;
    const peers = (w.whepPeers ?? []) as {
      pc: RTCPeerConnection;
      video: HTMLVideoElement;
      location: string;
    }[];
    w.whepPeers = [];
    return Promise.all(
      peers.map(async ({ pc, video, location }) => {
        const res = await fetch(location, { method: 'DELETE' });
        pc.close();
        video.remove();
        return res.status;
      }),
    );
  });
}
