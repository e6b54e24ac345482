/**
 * Every output bambucam serves, in start order (stopped in reverse). Adding an output is one line
 * here plus its own folder; see docs/architecture.md, "Adding an output".
 */

import { homeAssistantOutput } from '../ha/ha-output';
import { hlsOutput } from '../hls/hls-output';
import { httpOutput } from '../serve/http/http-output';
import { nativeChamberOutput } from '../serve/native-chamber-output';
import { nativeMqttOutput } from '../serve/native-mqtt/output';
import { nativeRtspsOutput } from '../serve/rtsp/native-rtsps-output';
import { rtspOutput } from '../serve/rtsp/rtsp-output';
import { wallOutput } from '../wall/wall-output';
import { webrtcOutput } from '../webrtc/webrtc-output';
import type { OutputFactory } from './output';

export const OUTPUTS: OutputFactory[] = [
  httpOutput,
  hlsOutput,
  webrtcOutput,
  rtspOutput,
  nativeRtspsOutput,
  nativeChamberOutput,
  nativeMqttOutput,
  homeAssistantOutput,
  wallOutput,
];
