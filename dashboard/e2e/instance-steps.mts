/**
 * Dashboard end-to-end steps of one instance's life before the contact and webhook steps: created with its price and
 * balance shown and logged in at once while its process starts, charged in the wallet, linked by scanning its QR through
 * simnet, photographed, given tokens, driven from the method tester, and counted on the Overview.
 */
import type { Locator, Page, Response } from 'playwright-core';
import { assert, json, shot, step, until } from './harness.mts';

export interface InstanceStepsContext {
  page: Page;
  /** The main navigation's link named `name`. */
  nav: (name: string) => Locator;
  apiUrl: string;
  simnetUrl: string;
  ownerPhone: string;
  peerPhone: string;
  accessToken: () => string | undefined;
  /** Called with the id of the instance the first step creates. */
  setInstanceId: (id: string) => void;
  /** URLs of every WebSocket the page opened (ticket streams, never a token). */
  socketUrls: readonly string[];
}

export async function instanceSteps(x: InstanceStepsContext): Promise<void> {
  const { page: p, nav, apiUrl, simnetUrl, ownerPhone: OWNER_PHONE, peerPhone: PEER_PHONE, socketUrls } = x;
  let instanceId: string | undefined;
  await step(
    'the user creates an instance (price and balance shown first), logs it in at once (Log in as soon as it answers), and it runs',
    async () => {
      await nav('Instances').click();
      await p.getByTestId('balance').getByText('$50.00').waitFor();
      await p.getByLabel('Name').fill('Support line');
      await p.getByRole('button', { name: 'Create instance' }).click();
      const card = p.locator('li.instance', { hasText: 'Support line' });
      await card.waitFor();
      instanceId = (await card.getAttribute('data-instance-id')) ?? undefined;
      assert(instanceId, 'no instance id on the card');
      x.setInstanceId(instanceId);
      // At once, while its process starts: Log in is enabled as soon as the instance answers (the click waits for
      // that); the login through the gateway gets the QR, no 503 (the console check at the end). The "starting" note
      // shows only while the instance is Pending or Provisioning and does not answer yet, which the embedded default's
      // process has usually passed by the time the page has its record: the component's unit test checks the note
      // (instance-detail.spec.ts); here it is only printed.
      await p.goto(`/instances/${instanceId}`);
      const starting = await p.getByTestId('instance-starting').isVisible();
      console.log(`e2e: the instance page showed the starting note: ${starting}`);
      // What the login answered, and what the stream said, name the cause when no QR comes.
      const answers: string[] = [];
      const onResponse = (r: Response) => {
        if (r.url().endsWith('/api/v1/session/login'))
          void r.text().then(
            (t) => answers.push(`${r.status()} ${t.slice(0, 300)}`),
            () => answers.push(`${r.status()}`),
          );
      };
      p.on('response', onResponse);
      try {
        await p.getByRole('button', { name: 'Log in', exact: true }).click({ timeout: 60_000 });
        await p.getByTestId('qr-image').waitFor();
      } catch (err) {
        const state = await p
          .getByTestId('session-state')
          .getAttribute('data-state')
          .catch(() => 'unknown');
        const section = (
          await p
            .locator('section', { has: p.getByTestId('session-state') })
            .innerText()
            .catch(() => '')
        ).replace(/\s+/g, ' ');
        throw new Error(
          `${(err as Error).message}\n  login answers: ${answers.join(' | ') || 'none'}\n  session state ${state}: ${section.slice(0, 400)}`,
        );
      } finally {
        p.off('response', onResponse);
      }
      assert(
        socketUrls.some((u) => /\/api\/v1\/events\?ticket=wst_/.test(u)),
        `no ticket stream among ${socketUrls.join(' ')}`,
      );
      assert(!socketUrls.some((u) => /token=/.test(u)), `a WebSocket URL carries a token: ${socketUrls.join(' ')}`);
      await nav('Instances').click();
      await card.getByText('Running').waitFor({ timeout: 60_000 });
      await shot('04-instances');
    },
  );

  await step('the wallet lists the charge with its period', async () => {
    await nav('Wallet').click();
    await p.getByText(/Period .* → /).waitFor();
    await p.getByRole('cell', { name: '-$15.00' }).waitFor();
    await shot('05-wallet');
  });

  await step('the instance page shows the live QR; scanning it through simnet makes the session WORKING', async () => {
    await p.goto(`/instances/${instanceId}`);
    await p.getByRole('heading', { name: 'WhatsApp session' }).waitFor();
    // The login begun right after creating goes on: the stream sends its current QR on connect.
    await p.getByTestId('qr-image').waitFor();
    const qr = (await p.getByTestId('qr-raw').textContent())?.trim();
    assert(qr, 'no QR text on the page');
    await shot('06-instance-qr');
    const scan = await json(`${simnetUrl}/hooks/scan`, {
      method: 'POST',
      body: JSON.stringify({ qr, phone: OWNER_PHONE, pushname: 'Owner' }),
    });
    assert(scan.status === 200, `scan: ${scan.status} ${JSON.stringify(scan.body)}`);
    await p.getByTestId('session-state').getByText('WORKING').waitFor();
    await p.getByText(`+${OWNER_PHONE}`).waitFor();
  });

  await step('a screenshot of the session loads as an image', async () => {
    await p.getByRole('button', { name: 'Take a screenshot' }).click();
    const img = p.getByTestId('screenshot');
    await img.waitFor();
    await until('the screenshot to decode', () => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0));
    await shot('07-instance-working');
  });

  const createToken = async (name: string, perm: 'r' | 'w' | 'rw') => {
    await p.getByLabel('Name').fill(name);
    await p.locator('#token-perm').selectOption(perm);
    await p.getByRole('button', { name: 'Create token' }).click();
    const plaintext = await p.getByTestId('token-plaintext').inputValue();
    assert(plaintext.startsWith('wai_'), `token plaintext ${plaintext.slice(0, 8)}…`);
    return plaintext;
  };

  let readerToken = '';
  let writerToken = '';
  await step('the tokens page creates an r token and a w token (plaintext shown once) that work', async () => {
    await p.getByRole('link', { name: 'Access tokens' }).click();
    await p.getByRole('heading', { name: 'Access tokens' }).waitFor();
    await p.getByText('No tokens yet.').waitFor();
    readerToken = await createToken('reader', 'r');
    await p.getByRole('button', { name: 'Copy' }).click();
    await shot('08-tokens-created');
    await p.getByRole('button', { name: 'Done' }).click();
    writerToken = await createToken('writer', 'w');
    await p.getByRole('button', { name: 'Done' }).click();
    await p.locator('li.token').nth(1).waitFor();
    const me = await json(`${apiUrl}/v1/instances/${instanceId}/api/v1/token`, { headers: { authorization: `Bearer ${readerToken}` } });
    assert(me.status === 200 && me.body.permissions === 'r', `reader token: ${me.status} ${JSON.stringify(me.body)}`);
    const denied = await json(`${apiUrl}/v1/instances/${instanceId}/api/v1/messages`, {
      headers: { authorization: `Bearer ${writerToken}` },
    });
    assert(denied.status === 403, `writer reading messages: ${denied.status}`);
    await shot('09-tokens');
  });

  await step('a token permission change and a token deletion (with confirmation) take effect', async () => {
    await createToken('temporary', 'r');
    await p.getByRole('button', { name: 'Done' }).click();
    const card = p.locator('li.token[data-token-name="temporary"]');
    await card.getByRole('combobox').selectOption('rw');
    const list = await until('the permission change', async () => {
      const r = await json(`${apiUrl}/v1/instances/${instanceId}/tokens`, { headers: { authorization: `Bearer ${x.accessToken()}` } });
      return r.body.items.find((t: any) => t.name === 'temporary' && t.permissions === 'rw') ? r : undefined;
    });
    assert(list.body.items.length === 3, 'three tokens');
    await card.getByRole('button', { name: 'Delete token temporary' }).click();
    await card.getByRole('button', { name: 'Yes, delete' }).click();
    await card.waitFor({ state: 'detached' });
    const after = await json(`${apiUrl}/v1/instances/${instanceId}/tokens`, { headers: { authorization: `Bearer ${x.accessToken()}` } });
    assert(
      after.body.items
        .map((t: any) => t.name)
        .sort()
        .join() === 'reader,writer',
      `tokens left: ${JSON.stringify(after.body.items)}`,
    );
  });

  const text = `Hello from the dashboard e2e ${Date.now()}`;
  await step('the tester sends a message and shows request and response', async () => {
    await p.goto(`/instances/${instanceId}`);
    await p.getByTestId('session-state').getByText('WORKING').waitFor();
    await p.getByRole('tab', { name: 'Send a message' }).click();
    await p.getByLabel(/^To/).fill(PEER_PHONE);
    await p.getByLabel(/^Text/).fill(text);
    await p.getByRole('button', { name: 'Send request' }).click();
    await p.getByTestId('tester-status').getByText('202').waitFor(); // queued: the instance's send queue sends it
    const req = await p.getByTestId('tester-request').textContent();
    assert(req?.includes(`POST /v1/instances/${instanceId}/api/v1/messages`) && req.includes(text), `request shown: ${req}`);
    const res = await p.getByTestId('tester-response').textContent();
    assert(res?.includes('"fromMe": true'), `response shown: ${res}`);
    await p.getByTestId('live-feed').getByText(text).waitFor();
    const got = await json(`${simnetUrl}/hooks/accounts/${PEER_PHONE}/messages`);
    assert(JSON.stringify(got.body).includes(text), 'the peer phone did not receive the message');
  });

  await step('the message appears in the filtered message list', async () => {
    await p.getByRole('tab', { name: 'List messages' }).click();
    await p.getByLabel('Text contains').fill('dashboard e2e');
    await p.getByLabel('Direction').selectOption('true');
    await p.getByLabel('Limit (1–500)').fill('10');
    await until('the message in the list', async () => {
      await p.getByRole('button', { name: 'Send request' }).click();
      await p.getByTestId('tester-status').getByText('200').waitFor();
      return (
        (await p
          .getByTestId('tester-messages')
          .getByText(text)
          .count()
          .catch(() => 0)) > 0
      );
    });
    const req = await p.getByTestId('tester-request').textContent();
    assert(req?.includes('q=dashboard+e2e') && req.includes('fromMe=true') && req.includes('limit=10'), `request shown: ${req}`);
    await p.getByTestId('tester-messages').scrollIntoViewIfNeeded();
    await shot('10-instance-tester-messages');
  });

  await step('the tester reads contacts, stats and token permissions', async () => {
    await p.getByRole('tab', { name: 'List contacts' }).click();
    await p.getByRole('button', { name: 'Send request' }).click();
    await p.getByTestId('tester-status').getByText('200').waitFor();
    await p.getByRole('tab', { name: 'Statistics' }).click();
    await p.getByRole('button', { name: 'Send request' }).click();
    await until('stats', async () => (await p.getByTestId('tester-response').textContent())?.includes('"messagesOut"'));
    await p.getByRole('tab', { name: 'Token permissions' }).click();
    await p.getByRole('button', { name: 'Send request' }).click();
    await until('token view', async () => (await p.getByTestId('tester-response').textContent())?.includes('"permissions": "rw"'));
  });

  await step("the Overview counts the day's messages, draws them as a chart and gives them as a table (keyboard)", async () => {
    await nav('Overview').click();
    const chart = p.getByRole('img', { name: 'Messages in and out per day, last 30 days' });
    await chart.waitFor();
    const drawn = await until('the chart drawn', () =>
      chart.evaluate((c: HTMLCanvasElement) => {
        const px = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? [];
        let n = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) n++;
        return n > 500 && n;
      }),
    );
    assert(drawn > 500, `the chart canvas is blank`);
    await p.getByText('The numbers as a table').focus();
    await p.keyboard.press('Enter');
    const today = await p.getByTestId('days-table').locator('tbody tr').last().locator('td').allTextContents();
    assert(Number(today[1]) >= 1, `messages out today: ${today.join(' | ')}`);
    await p.getByTestId('instances-table').getByText('Support line').waitFor();
    await shot('10b-overview');
  });
}
