/**
 * seam: remove when the registry runs. A WebrtcPrinter made from today's PrinterWorker, whose H.264
 * stream still has the old subscriber API (offer(), plus a separate want()). It gives the WebRTC
 * output the reader contract of the output seam: subscribing is wanting, the GOP first, a bounded
 * queue that drops whole pictures and resumes on a keyframe, counters under the output's name.
 */
import { FFMPEG_MISSING_HINT } from '../ffmpeg/locate';
import type { H264Stream, StreamUnit } from '../hub/h264-stream';
import type { PrinterWorker } from '../worker';
import type { H264Hub, PictureSink, WebrtcPrinter } from './printer-feed';

/** Pictures queued for one reader before it loses them and waits for a keyframe. */
const MAX_QUEUED_PICTURES = 60;

function legacyHub(stream: H264Stream): H264Hub {
  return {
    get sps() {
      return stream.sps;
    },
    waitForParameters: (ms) => stream.waitForParameters(ms),
    subscribe(sink: PictureSink, { output }: { output: string }) {
      const release = stream.want();
      const counters = stream.counters(output);
      let queue: StreamUnit[] = [];
      let busy = false;
      let waitingForKey = true;
      let closed = false;
      const pump = () => {
        while (!closed && !busy && queue.length) {
          const unit = queue.shift()!;
          busy = true;
          counters.delivered++;
          let sync = true;
          sink.send(unit, () => {
            busy = false;
            if (!sync) pump();
          });
          sync = false;
        }
      };
      const unsubscribe = stream.subscribe(
        {
          offer: (unit) => {
            if (closed) return;
            if (queue.length >= MAX_QUEUED_PICTURES) {
              counters.dropped += queue.length;
              queue = [];
              waitingForKey = true;
            }
            if (waitingForKey && !unit.key) {
              counters.dropped++;
              return;
            }
            waitingForKey = false;
            queue.push(unit);
            pump();
          },
          close: (reason) => {
            if (!closed) sink.close(reason);
          },
        },
        output,
      );
      return {
        unsubscribe() {
          if (closed) return;
          closed = true;
          queue = [];
          unsubscribe();
          release();
        },
      };
    },
  };
}

export function legacyWebrtcPrinter(worker: PrinterWorker): WebrtcPrinter {
  return {
    id: worker.id,
    h264: legacyHub(worker.h264),
    h264Unavailable: () =>
      worker.camera?.kind === 'chamber' && !worker.encoder
        ? `${FFMPEG_MISSING_HINT}; without it there is no H.264 for this chamber printer`
        : null,
    // The encoder makes a keyframe every second (src/ffmpeg/args.ts): the next one answers a PLI.
    requestKeyframe: () => {},
  };
}
