/**
 * Dashboard end-to-end steps for the Inbox (issue 15, acceptance 1): two browser contexts, an owner and an agent,
 * against the real api, process-provider instances and the simulated network. The owner (a fresh organisation, set
 * up through the api: two instances A and B logged in on simnet) invites the agent from the Team page, grants Read +
 * Send on A and nothing on B; the agent sees only A; a customer's phone writes to A (and to B); both see the
 * conversation under Unassigned without a reload (the delay is printed, waits are bounded at a few seconds, never
 * asserted against a clock); the owner assigns it to the agent; the agent replies (Enter sends) and the customer's
 * phone receives the text; the owner sees "sent by <agent>"; the agent is not offered the assignment and the api
 * refuses it (403); to resolve, the agent needs Manage chats (status changes need canManageChats, docs/team.md §3), so
 * the owner grants it (the agent's socket reconnects after the rights change and the Resolve button appears); the
 * agent resolves it; the customer writes again and it is open again; removing the agent closes their socket (4401).
 */
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { assert, json, shotsDir, step, until } from './harness.mts';

export interface InboxStepsContext {
  browser: Browser;
  contextOptions: BrowserContextOptions;
  apiUrl: string;
  simnetUrl: string;
}

const PASSWORD = 'correct horse battery staple';
/** Bound of the "without reload" waits: generous for a loaded machine; the measured delay is printed. */
const LIVE_WAIT_MS = 5_000;

/** Runs the Inbox steps; its instances are deleted and its contexts closed at the end whatever happened. */
export async function inboxSteps(x: InboxStepsContext): Promise<void> {
  const { browser, contextOptions, apiUrl, simnetUrl } = x;
  const run = Date.now() % 1_000_000;
  const six = String(run).padStart(6, '0');
  const phones = { a: `15551${six}`, b: `15552${six}` };
  const customer = `15553${six}`;
  const ownerEmail = `inbox-owner-${run}@example.com`;
  const agentEmail = `inbox-agent-${run}@example.com`;
  const figures: string[] = [];
  let token = '';
  const ids = { a: '', b: '' };
  let owner: Page | undefined;
  let agent: Page | undefined;
  const contexts: BrowserContext[] = [];
  const auth = (t = token) => ({ authorization: `Bearer ${t}` });
  const post = (path: string, body: unknown, t = token) =>
    json(`${apiUrl}${path}`, { method: 'POST', headers: auth(t), body: JSON.stringify(body) });
  const shot = async (p: Page | undefined, name: string) => {
    await p?.screenshot({ path: `${shotsDir}/${name}.png`, fullPage: true }).catch(() => undefined);
  };
  const item = (p: Page, text: string) => p.locator('button.item', { hasText: text });
  /** The customer's conversation on A in a list, whatever its last message. */
  const theItem = (p: Page) => p.locator(`button.item[data-conversation-id="${conversationId}"]`);
  let conversationId = '';
  let agentToken = '';

  try {
    await step('inbox: an owner with instances A and B logged in on the simulated network (set up through the api)', async () => {
      const reg = await json(`${apiUrl}/v1/auth/register`, {
        method: 'POST',
        body: JSON.stringify({ email: ownerEmail, password: PASSWORD }),
      });
      assert(reg.status === 201, `register: ${reg.status}`);
      const login = await json(`${apiUrl}/v1/auth/login`, {
        method: 'POST',
        body: JSON.stringify({ email: ownerEmail, password: PASSWORD }),
      });
      token = login.body.accessToken;
      const dep = await json(`${apiUrl}/v1/wallet/deposits`, {
        method: 'POST',
        headers: { ...auth(), 'idempotency-key': `inbox-${run}` },
        body: JSON.stringify({ amount: 10_000 }),
      });
      assert(dep.status === 201, `deposit: ${dep.status}`);
      for (const [k, name] of [
        ['a', 'Sales A'],
        ['b', 'Support B'],
      ] as const) {
        const c = await post('/v1/instances', { name });
        assert(c.status === 201, `create ${name}: ${c.status} ${JSON.stringify(c.body)}`);
        ids[k] = c.body.id;
      }
      for (const p of [...Object.values(phones), customer])
        await json(`${simnetUrl}/hooks/accounts`, {
          method: 'POST',
          body: JSON.stringify({ phone: p, pushname: p === customer ? 'Carla Customer' : 'Line' }),
        });
      for (const k of ['a', 'b'] as const) {
        const qr = await until(
          `the QR of ${k}`,
          async () => {
            const r = await post(`/v1/instances/${ids[k]}/api/v1/session/login`, {});
            return r.status === 200 && r.body.qr ? (r.body.qr as string) : undefined;
          },
          90_000,
        );
        const scan = await json(`${simnetUrl}/hooks/scan`, {
          method: 'POST',
          body: JSON.stringify({ qr, phone: phones[k], pushname: `Line ${k}` }),
        });
        assert(scan.status === 200, `scan ${k}: ${scan.status}`);
      }
      for (const k of ['a', 'b'] as const)
        await until(
          `${k} WORKING`,
          async () => (await json(`${apiUrl}/v1/instances/${ids[k]}`, { headers: auth() })).body.sessionState === 'WORKING',
          60_000,
        );
    });

    await step('inbox: the owner invites the agent on the Team page; the agent joins through the link in another browser', async () => {
      const oc = await browser.newContext(contextOptions);
      contexts.push(oc);
      owner = await oc.newPage();
      await owner.goto('/login');
      await owner.getByLabel('Email').fill(ownerEmail);
      await owner.getByLabel('Password').fill(PASSWORD);
      await owner.getByRole('button', { name: 'Log in' }).click();
      await owner.waitForURL(/\/instances$/);
      await owner.goto('/team');
      await owner.locator('#invite-email').fill(agentEmail);
      await owner.locator('#invite-role').selectOption('agent');
      await owner.getByRole('button', { name: 'Invite', exact: true }).click();
      const link = await owner.getByTestId('invite-link').inputValue();
      assert(link.includes('/join'), `invitation link ${link}`);
      const ac = await browser.newContext(contextOptions);
      contexts.push(ac);
      agent = await ac.newPage();
      await agent.goto(link);
      await agent.locator('#join-password').fill(PASSWORD);
      await agent.getByRole('button', { name: 'Join' }).click();
      await agent.waitForURL(/\/instances$/);
      agentToken = await agent.evaluate(() => JSON.parse(localStorage.getItem('wacloud.session') ?? 'null')?.accessToken as string);
      assert(agentToken, 'the agent has a session');
    });

    await step('inbox: the owner grants Read and Send on A, nothing on B; the agent sees only A', async () => {
      const o = owner!;
      await o.reload();
      for (const right of ['Read', 'Send']) await o.getByRole('checkbox', { name: `${right} on Sales A for ${agentEmail}` }).check();
      await until('the rights saved', async () => {
        const m = (await json(`${apiUrl}/v1/members`, { headers: auth() })).body.items.find((i: any) => i.email === agentEmail);
        const r = m?.rights?.[ids.a];
        return r?.canRead && r?.canWrite && !r?.canManageChats && !m.rights[ids.b]?.canRead;
      });
      const a = agent!;
      await a.goto('/inbox');
      await a.getByRole('heading', { name: 'Inbox', level: 1 }).waitFor();
      // The filter's options come with the instance list (a moment after the heading): wait for A, then B must be absent.
      await a.getByTestId('instance-filter').locator('option', { hasText: 'Sales A' }).waitFor({ state: 'attached' });
      const options = await a.getByTestId('instance-filter').locator('option').allTextContents();
      assert(
        options.some((t) => t.includes('Sales A')) && !options.some((t) => t.includes('Support B')),
        `agent's instances: ${options.join(', ')}`,
      );
      await a.locator('[data-testid="live-state"][data-state="open"]').waitFor();
      await o.goto('/inbox');
      await o.locator('[data-testid="live-state"][data-state="open"]').waitFor();
      for (const p of [o, a]) await p.getByRole('tab', { name: 'Unassigned' }).click();
    });

    const first = `Hi, my order #${run} has not arrived`;
    await step(
      'inbox: a customer writes to A (and to B): both see it under Unassigned without a reload; only the owner sees B',
      async () => {
        const o = owner!;
        const a = agent!;
        const t0 = Date.now();
        const sent = await json(`${simnetUrl}/hooks/send`, {
          method: 'POST',
          body: JSON.stringify({ from: customer, to: phones.a, text: first }),
        });
        assert(sent.status === 201, `simnet send: ${sent.status}`);
        const seen = await Promise.all(
          [o, a].map(async (p) => {
            await item(p, first).waitFor({ timeout: LIVE_WAIT_MS });
            return Date.now() - t0;
          }),
        );
        figures.push(`customer's message → Unassigned: owner ${seen[0]} ms, agent ${seen[1]} ms`);
        console.log(`e2e: inbox: ${figures.at(-1)}`);
        conversationId = (await item(o, first).getAttribute('data-conversation-id')) ?? '';
        assert(conversationId, 'the conversation has an id');
        const toB = `A question for support ${run}`;
        await json(`${simnetUrl}/hooks/send`, { method: 'POST', body: JSON.stringify({ from: customer, to: phones.b, text: toB }) });
        await item(o, toB).waitFor({ timeout: LIVE_WAIT_MS });
        await a.waitForTimeout(500); // the owner saw B's; the agent's list had the same time to receive it
        assert((await item(a, toB).count()) === 0, 'the agent sees a conversation of B');
        await shot(o, 'inbox-01-owner-unassigned');
        await shot(a, 'inbox-02-agent-unassigned');
      },
    );

    await step('inbox: the owner assigns it to the agent: it leaves Unassigned and shows under the agent’s Mine', async () => {
      const o = owner!;
      const a = agent!;
      await theItem(o).click();
      await o.getByTestId('assignee').selectOption({ label: agentEmail });
      await theItem(o).waitFor({ state: 'detached', timeout: LIVE_WAIT_MS });
      await theItem(a).waitFor({ state: 'detached', timeout: LIVE_WAIT_MS });
      await a.getByRole('tab', { name: 'Mine' }).click();
      await theItem(a).waitFor({ timeout: LIVE_WAIT_MS });
    });

    const reply = `Sorry about that, it ships today (${run})`;
    await step('inbox: the agent replies with Enter; the customer’s phone receives it; the owner sees “sent by” the agent', async () => {
      const o = owner!;
      const a = agent!;
      await theItem(a).focus();
      await a.keyboard.press('Enter');
      await a.locator('.bubble', { hasText: first }).waitFor();
      await a.getByLabel('Reply to the customer').fill(reply);
      await a.getByLabel('Reply to the customer').press('Enter');
      await a.locator('.bubble.out', { hasText: reply }).waitFor();
      await until(
        'the customer’s phone to receive the reply',
        async () => {
          const got = await json(`${simnetUrl}/hooks/accounts/${customer}/messages`);
          return JSON.stringify(got.body).includes(reply);
        },
        15_000,
      );
      await o.getByRole('tab', { name: 'All' }).click();
      await theItem(o).click();
      const bubble = o.locator('.bubble.out', { hasText: reply });
      await bubble.waitFor({ timeout: LIVE_WAIT_MS });
      await until('the sender under the bubble', async () =>
        /sent by inbox-agent-/.test((await bubble.getByTestId('sent-by').textContent()) ?? ''),
      );
      await shot(o, 'inbox-03-owner-sent-by');
      await shot(a, 'inbox-04-agent-replied');
    });

    await step('inbox: a note the owner adds (Ctrl+Enter) shows in the agent’s side panel without a reload', async () => {
      const note = `Customer is a VIP (${run})`;
      await owner!.getByLabel('New note').fill(note);
      await owner!.getByLabel('New note').press('Control+Enter');
      await agent!.getByTestId('notes').getByText(note).waitFor({ timeout: LIVE_WAIT_MS });
    });

    await step('inbox: the agent is not offered the assignment, and the api refuses it (403)', async () => {
      const a = agent!;
      assert((await a.getByTestId('assignee').count()) === 0, 'the agent is offered the assignee control');
      await a
        .getByTestId('assignee-text')
        .getByText(/Assigned to/)
        .waitFor();
      const me = (await json(`${apiUrl}/v1/me`, { headers: auth(agentToken) })).body;
      const r = await post(`/v1/conversations/${conversationId}/assign`, { assigneeId: me.memberId ?? null }, agentToken);
      assert(r.status === 403, `the agent assigning: ${r.status} ${JSON.stringify(r.body)}`);
    });

    await step(
      'inbox: given Manage chats (the api’s right for status changes), the agent resolves it; the customer writes again: open again for both',
      async () => {
        const o = owner!;
        const a = agent!;
        assert((await a.getByRole('button', { name: 'Resolve' }).count()) === 0, 'Resolve is offered without Manage chats');
        await o.goto('/team');
        await o.getByRole('checkbox', { name: `Manage chats on Sales A for ${agentEmail}` }).check();
        await o.goto('/inbox');
        await o.getByRole('tab', { name: 'All' }).click();
        await theItem(o).click();
        // The rights change closes the agent's socket (4403); it reconnects and the page re-reads the rights.
        await a.getByRole('button', { name: 'Resolve' }).click({ timeout: 15_000 });
        for (const p of [a, o])
          await p.locator('[data-testid="conversation-status"][data-status="resolved"]').waitFor({ timeout: LIVE_WAIT_MS });
        const again = `Any news on order #${run}?`;
        await json(`${simnetUrl}/hooks/send`, { method: 'POST', body: JSON.stringify({ from: customer, to: phones.a, text: again }) });
        for (const p of [o, a]) {
          await p.locator('[data-testid="conversation-status"][data-status="open"]').waitFor({ timeout: LIVE_WAIT_MS });
          await p.locator('.bubble.in', { hasText: again }).waitFor({ timeout: LIVE_WAIT_MS });
        }
        await item(a, again).waitFor({ timeout: LIVE_WAIT_MS }); // back in the agent's Mine (open) with the new last message
        await shot(a, 'inbox-05-agent-reopened');
      },
    );

    await step('inbox: removing the agent on the Team page closes their live socket (4401: access ended)', async () => {
      const o = owner!;
      const a = agent!;
      o.once('dialog', (d) => void d.accept());
      await o.goto('/team');
      await o
        .getByRole('row', { name: new RegExp(agentEmail) })
        .getByRole('button', { name: 'Remove' })
        .click();
      await a.locator('[data-testid="live-state"][data-state="ended"]').waitFor({ timeout: LIVE_WAIT_MS });
      await a.getByTestId('no-conversations').waitFor(); // nothing of the team stays on the agent's screen
      await shot(a, 'inbox-06-agent-removed');
    });
  } finally {
    for (const c of contexts) await c.close().catch(() => undefined);
    for (const id of Object.values(ids))
      if (id) await fetch(`${apiUrl}/v1/instances/${id}`, { method: 'DELETE', headers: auth() }).catch(() => undefined);
    if (figures.length) console.log(`e2e: inbox figures: ${figures.join('; ')}`);
  }
}
