/**
 * The simulated engine's "screen" as a PNG: the QR while waiting for a scan, otherwise a status image (a QR encoding
 * the state, the pairing code, the account or the failure, tinted by state).
 */
import { loadQrcode } from '../../qrcode.js';
import type { SessionState } from '../engine.js';

const STATE_COLORS: Record<SessionState, string> = {
  STOPPED: '#757575ff',
  STARTING: '#1565c0ff',
  SCAN_QR_CODE: '#000000ff',
  AUTHENTICATING: '#0277bdff',
  WORKING: '#1b5e20ff',
  DISCONNECTED: '#e65100ff',
  FAILED: '#b71c1cff',
};

export interface ScreenState {
  state: SessionState;
  qr?: string | undefined;
  pairingCode?: string | undefined;
  accountId?: string | undefined;
  reason?: string | undefined;
}

/** Renders the screen (264 px square PNG). */
export async function renderScreen(s: ScreenState): Promise<Buffer> {
  const QRCode = await loadQrcode();
  if (s.state === 'SCAN_QR_CODE' && s.qr) return QRCode.toBuffer(s.qr, { type: 'png', margin: 4, width: 264 });
  const parts = [`wacloud simulated engine: ${s.state}`];
  if (s.pairingCode) parts.push(`pairing code ${s.pairingCode.slice(0, 4)}-${s.pairingCode.slice(4)}`);
  if (s.state === 'WORKING' && s.accountId) parts.push(`as ${s.accountId}`);
  if (s.reason && s.state === 'FAILED') parts.push(s.reason);
  return QRCode.toBuffer(parts.join(' · '), {
    type: 'png',
    margin: 4,
    width: 264,
    color: { dark: STATE_COLORS[s.state], light: '#ffffffff' },
  });
}
