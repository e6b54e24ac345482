/**
 * The API's status of one printer: the printer's own part (PrinterMedia.statusJson) and every
 * output's state for it, the same way for all outputs: `outputs.<name>` merges the hub counters
 * with the output's own status; outputs named `native_<x>` also appear as `native.<x>` (the
 * printer's own protocols, re-served); each output may add URLs.
 */
import type { OutputStatusJson, PrinterStatus, PrinterUrls } from './api-types';
import type { Output, OutputState } from './output';
import type { PrinterMedia } from './printer-media';

/** Every output's state for one printer, in registry order. */
export function outputStates(outputs: readonly Output[], printerId: string): [string, OutputState][] {
  const states: [string, OutputState][] = [];
  for (const output of outputs) {
    const state = output.status(printerId);
    if (state) states.push([output.name, state]);
  }
  return states;
}

export function printerStatus(printer: PrinterMedia, outputs: readonly Output[]): PrinterStatus {
  const core = printer.statusJson();
  const merged: Record<string, OutputStatusJson> = { ...core.outputs };
  const native: Record<string, OutputStatusJson> = {};
  const urls: PrinterUrls = {
    snapshot: `/printers/${printer.id}/snapshot.jpg`,
    mjpeg: `/printers/${printer.id}/stream.mjpeg`,
    hls: `/printers/${printer.id}/hls/index.m3u8`,
    rtsp_path: `/${printer.id}`,
  };
  let hls: Record<string, unknown> = {};
  for (const [name, state] of outputStates(outputs, printer.id)) {
    const { urls: more, ...rest } = state as OutputState & { urls?: Record<string, string> };
    merged[name] = { ...merged[name], ...rest };
    if (name.startsWith('native_')) native[name.slice('native_'.length)] = rest;
    if (name === 'hls') hls = rest;
    if (more) Object.assign(urls, more);
  }
  return { ...core, outputs: merged, native, hls, urls };
}
