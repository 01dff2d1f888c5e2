/**
 * Dashboard end-to-end steps for tenant webhooks (issue 14): on the instance page, set a receiver URL (the signing
 * secret is shown once), send a test event and see it delivered in the log, let the receiver fail, replay the failed
 * delivery from the log and see it succeed, rotate the secret, and see an internal URL refused. The receiver is a
 * real HTTP server on 127.0.0.1, which the api opens for its instances with WEBHOOK_ALLOW_CIDRS (see run.mts).
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { assert, shot, step } from './harness.mts';

export interface WebhookStepsContext {
  page: Page;
  instanceId: () => string | undefined;
}

interface Hit {
  eventId: string;
  event: string;
  timestamp: string;
  signature: string;
  rawBody: string;
}

/** A receiver on 127.0.0.1 answering 200, or `failWith` while it is set. */
async function startReceiver(): Promise<{ url: string; hits: Hit[]; failWith: number | null; close(): Promise<void> }> {
  const r = { url: '', hits: [] as Hit[], failWith: null as number | null, close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      r.hits.push({
        eventId: String(req.headers['x-wacloud-event-id']),
        event: String(req.headers['x-wacloud-event']),
        timestamp: String(req.headers['x-wacloud-timestamp']),
        signature: String(req.headers['x-wacloud-signature']),
        rawBody,
      });
      res.writeHead(r.failWith ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/wacloud`;
  r.close = () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve())));
  return r;
}

const sign = (secret: string, ts: string, body: string) => `v1=${createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex')}`;

/** Runs the webhook steps on the instance page; the receiver is closed at the end whatever happened. */
export async function webhookSteps({ page: p, instanceId }: WebhookStepsContext): Promise<void> {
  const receiver = await startReceiver();
  const section = p.getByTestId('webhooks');
  const rows = section.locator('tr.delivery');
  let secret = '';
  try {
    await step('webhooks: setting the receiver URL shows the signing secret once', async () => {
      await p.goto(`/instances/${instanceId()}`);
      await section.getByRole('heading', { name: 'Webhooks' }).waitFor();
      await section.getByText('No deliveries yet').waitFor();
      await section.getByLabel('Receiver URL').fill(receiver.url);
      await section.getByLabel(/Delivery and read receipts/).check();
      await section.getByRole('button', { name: 'Save webhook' }).click();
      secret = await section.getByTestId('webhook-secret').inputValue();
      assert(/^whsec_/.test(secret), `secret shown: ${secret.slice(0, 8)}…`);
      await shot('16-webhooks-secret');
      await section.getByRole('button', { name: 'Done' }).click();
      await section.getByTestId('webhook-secret').waitFor({ state: 'detached' });
      await section.getByText('A signing secret is set.').waitFor();
    });

    await step('webhooks: a test event is delivered, signed, and shows in the log with status, latency and attempts', async () => {
      await section.getByRole('button', { name: 'Send a test event' }).click();
      const row = rows.first();
      await section.locator('tr.delivery[data-status="delivered"]').first().waitFor();
      assert((await row.getByTestId('delivery-http').textContent())?.trim() === '200', 'HTTP 200 in the log');
      assert((await row.getByTestId('delivery-attempts').textContent())?.trim() === '1', 'one attempt in the log');
      assert(/\d+ ms/.test((await row.textContent()) ?? ''), 'a latency in the log');
      const hit = receiver.hits.at(-1);
      assert(hit?.event === 'webhook.test', `receiver got ${hit?.event}`);
      assert(hit.signature === sign(secret, hit.timestamp, hit.rawBody), 'the signature verifies with the secret shown');
      await shot('17-webhooks-delivered');
    });

    await step('webhooks: a failing receiver gives a failed delivery; Replay sends it again and it succeeds', async () => {
      receiver.failWith = 410; // a 4xx is final: failed at the first attempt
      await section.getByRole('button', { name: 'Send a test event' }).click();
      const failed = section.locator('tr.delivery[data-status="failed"]').first();
      await failed.waitFor();
      const id = await failed.getAttribute('data-delivery-id');
      assert(id, 'the failed row has an id');
      assert((await failed.getByTestId('delivery-http').textContent())?.trim() === '410', 'HTTP 410 in the log');
      await shot('18-webhooks-failed');
      receiver.failWith = null;
      const row = section.locator(`tr.delivery[data-delivery-id="${id}"]`);
      await row.getByRole('button', { name: `Replay delivery ${id}` }).click();
      await section.locator(`tr.delivery[data-delivery-id="${id}"][data-status="delivered"]`).waitFor();
      assert((await row.getByTestId('delivery-http').textContent())?.trim() === '200', 'HTTP 200 after the replay');
      assert((await row.getByRole('button', { name: /Replay/ }).count()) === 0, 'no Replay button on a delivered row');
      const sameId = receiver.hits.filter((h) => h.eventId === id);
      assert(sameId.length === 2, `the receiver got the event ${sameId.length} times under one id`);
      await shot('19-webhooks-replayed');
    });

    await step('webhooks: rotating the secret shows a new one; an internal URL is refused', async () => {
      await section.getByRole('button', { name: 'Rotate secret' }).click();
      await section.getByRole('button', { name: 'Yes, rotate' }).click();
      const rotated = await section.getByTestId('webhook-secret').inputValue();
      assert(/^whsec_/.test(rotated) && rotated !== secret, 'a new secret');
      await section.getByRole('button', { name: 'Done' }).click();
      await section.getByLabel('Receiver URL').fill('http://169.254.169.254/latest/meta-data/');
      await section.getByRole('button', { name: 'Save webhook' }).click();
      const msg = await section.getByTestId('webhook-save-error').textContent();
      assert(/refused.*metadata/i.test(msg ?? ''), `refusal shown: ${msg}`);
    });
  } finally {
    await receiver.close();
  }
}
