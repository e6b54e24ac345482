/**
 * Every output bambucam serves, in start order (stopped in reverse). Adding an output is one line
 * here plus its own folder; see docs/architecture.md, "Adding an output".
 */
import { nativeMqttOutput } from '../serve/native-mqtt/output';
import type { OutputFactory } from './output';

export const OUTPUTS: OutputFactory[] = [nativeMqttOutput];
