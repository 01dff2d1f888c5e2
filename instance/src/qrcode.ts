/**
 * `qrcode`, loaded at its first use and kept (not at start: instance/README.md, "Memory"): the session controller's
 * QR data URLs and the simulated engine's screen.
 */
import type * as QRCodeModule from 'qrcode';

let loading: Promise<typeof QRCodeModule> | undefined;

/** The `qrcode` module (imported once). */
export const loadQrcode = (): Promise<typeof QRCodeModule> => (loading ??= import('qrcode'));
