import type { H264Stream } from '../../hub/h264-stream';
import type { Credential } from '../../protocol/rtsp/auth';

/** What the RTSP server serves at one path. */
export interface RtspMount {
  stream: H264Stream;
  /** null: no authentication. */
  credentials: Credential[] | null;
}
