/**
 * Dashboard end-to-end steps for contacts (issue 16): import a CSV file of 200 customers through the wizard (some of
 * them on WhatsApp: simulated accounts the instance synced after its login; some invalid numbers; some rows repeating
 * an earlier phone), check the preview report's exact counts, commit, see the imported name and coloured tags in the
 * inbox's conversation list and on the contact card of a matched customer, pin it as a favourite (first in the list),
 * add a contact with '+', create a tag in the catalogue and add / remove it on a selection of contacts (select-all of
 * the page), merge two contacts and unmerge them from the kept one's page, and set the default country so a local
 * number is read in it.
 *
 * The simulated WhatsApp customers must exist before the instance logs in ({@link createWhatsAppCustomers}, called
 * by run.mts at setup), so the login's contact sync brings them.
 */
import type { Page } from 'playwright-core';
import { assert, shot, step, until } from './harness.mts';

/** Simulated WhatsApp accounts (valid Brazilian mobiles, +55 11 98765-00NN). */
export const WHATSAPP_CUSTOMERS = 20;
/** How many of them the CSV file lists (the first ones). */
export const MATCHED = 15;
/** Rows whose phone is not a valid number. */
export const INVALID = 7;
/** Rows repeating the phone of an earlier row. */
export const DUPLICATES = 5;
export const ROWS = 200;
/** Rows creating a new contact: every valid, first-seen phone not on WhatsApp. */
export const CREATED = ROWS - MATCHED - INVALID - DUPLICATES;

const pad = (n: number, w: number) => String(n).padStart(w, '0');
/** E.164 of simulated customer `n` (1-based). */
export const customerPhone = (n: number): string => `+55119876500${pad(n, 2)}`;
/** E.164 of CSV-only customer `n` (not on WhatsApp). */
const otherPhone = (n: number): string => `+552198760${pad(n, 4)}`;

export interface ContactStepsContext {
  page: Page;
  apiUrl: string;
  simnetUrl: string;
  ownerPhone: string;
  instanceId: () => string | undefined;
  accessToken: () => string | undefined;
}

async function post(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Registers the simulated WhatsApp customers on simnet (before the instance's login). */
export async function createWhatsAppCustomers(simnetUrl: string): Promise<void> {
  for (let n = 1; n <= WHATSAPP_CUSTOMERS; n++) {
    const r = await post(`${simnetUrl}/hooks/accounts`, { phone: customerPhone(n).slice(1), pushname: `WA Customer ${n}` });
    if (r.status !== 201) throw new Error(`simnet account ${n}: ${r.status}`);
  }
}

/**
 * The CSV file: a header and {@link ROWS} rows, shuffled deterministically. Matched rows write the phone as people do
 * (`+55 (11) 98765-0001`); invalid ones are too short or not numbers; duplicates repeat a CSV-only phone.
 */
export function customersCsv(): string {
  const rows: string[][] = [];
  for (let n = 1; n <= MATCHED; n++) {
    const p = customerPhone(n);
    rows.push([`Imported Customer ${n}`, `+55 (11) ${p.slice(5, 10)}-${p.slice(10)}`, 'vip; imported', 'Acme Ltda', `c${n}@example.com`]);
  }
  for (let n = 1; n <= CREATED; n++) rows.push([`Lead ${n}`, otherPhone(n), n % 2 ? 'lead' : 'lead;newsletter', '', '']);
  const invalid = ['12345', 'not a phone', '+55 11 123', '000', '+1 555', 'abc-def', '99'];
  for (let n = 0; n < INVALID; n++) rows.push([`Broken ${n + 1}`, invalid[n]!, 'lead', '', '']);
  for (let n = 1; n <= DUPLICATES; n++) rows.push([`Lead ${n} again`, otherPhone(n), 'lead', '', '']);
  // Deterministic shuffle, keeping every duplicate after its original (the report names the later row).
  const order = rows.map((r, i) => ({ r, k: (i * 7919) % 211 }));
  order.sort((a, b) => a.k - b.k);
  const out = order.map((o) => o.r);
  for (let n = 1; n <= DUPLICATES; n++) {
    const first = out.findIndex((r) => r[0] === `Lead ${n}`);
    const dup = out.findIndex((r) => r[0] === `Lead ${n} again`);
    if (dup < first) [out[first], out[dup]] = [out[dup]!, out[first]!];
  }
  const cell = (v: string) => (/[",\n;]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return ['Name,Phone,Tags,Company,Email', ...out.map((r) => r.map(cell).join(','))].join('\n') + '\n';
}

/** Runs the contact steps; needs the instance logged in (WORKING) with the simulated customers synced. */
export async function contactSteps(ctx: ContactStepsContext): Promise<void> {
  const { page: p } = ctx;
  const nav = (name: string) => p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
  const auth = () => ({ authorization: `Bearer ${ctx.accessToken()}` });
  const matched = 3; // the customer whose conversation is opened
  /** How many contacts have the tag "priority" in the api. */
  const priorityCount = async (): Promise<number> => {
    const tags = (await (await fetch(`${ctx.apiUrl}/v1/contact-tags`, { headers: auth() })).json()) as {
      items: Array<{ id: string; name: string }>;
    };
    const id = tags.items.find((t) => t.name === 'priority')?.id ?? '';
    const r = await fetch(`${ctx.apiUrl}/v1/contacts?tag=${id}&limit=200`, { headers: auth() });
    return ((await r.json()) as { items: unknown[] }).items.length;
  };
  let matchedContactId = '';

  await step('contacts: the instance synced the simulated WhatsApp customers after its login', async () => {
    await until(
      'the synced WhatsApp contacts',
      async () => {
        const r = await fetch(`${ctx.apiUrl}/v1/contacts?q=${encodeURIComponent('WA Customer')}&limit=100`, { headers: auth() });
        const body = (await r.json()) as { items: Array<{ identities: unknown[] }> };
        return body.items.filter((c) => c.identities.length).length >= WHATSAPP_CUSTOMERS;
      },
      60_000,
    );
  });

  await step('contacts: the import wizard previews 200 rows with the exact counts, then commits them', async () => {
    await nav('Contacts').click();
    await p.getByRole('heading', { name: 'Contacts', level: 1 }).waitFor();
    await p.getByRole('link', { name: 'Import' }).click();
    await p.getByRole('heading', { name: 'Import contacts' }).waitFor();
    await p
      .getByLabel('CSV file', { exact: true })
      .setInputFiles({ name: 'customers.csv', mimeType: 'text/csv', buffer: Buffer.from(customersCsv()) });
    await p.getByRole('button', { name: 'Upload' }).click();
    await p.getByRole('heading', { name: 'Map the columns' }).waitFor();
    // The guesses from the header: Name → name, Phone → phone, Tags → tags, Company → company, Email → e-mail.
    for (const [col, field] of [
      ['Name', 'name'],
      ['Phone', 'phone'],
      ['Tags', 'tags'],
      ['Company', 'company'],
      ['Email', 'email'],
    ])
      assert((await p.getByLabel(`Field for the column ${col}`).inputValue()) === field, `column ${col} guessed as ${field}`);
    await shot('30-contacts-import-map');
    await p.getByRole('button', { name: 'Preview the import' }).click();
    const report = p.getByTestId('import-report');
    await report.waitFor();
    const count = async (key: string) => Number((await report.locator(`[data-count="${key}"] dd`).textContent())?.replace(/\D/g, ''));
    const got = {
      rows: await count('rows'),
      new: await count('new'),
      updates: await count('updates'),
      matched: await count('matched'),
      invalid: await count('invalid'),
      duplicates: await count('duplicates'),
    };
    const want = { rows: ROWS, new: CREATED, updates: MATCHED, matched: MATCHED, invalid: INVALID, duplicates: DUPLICATES };
    assert(JSON.stringify(got) === JSON.stringify(want), `preview counts ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
    await shot('31-contacts-import-preview');
    const before = await fetch(`${ctx.apiUrl}/v1/contacts?q=${encodeURIComponent('Imported Customer')}`, { headers: auth() });
    assert(((await before.json()) as { items: unknown[] }).items.length === 0, 'the preview wrote nothing');
    await p.getByRole('button', { name: 'Import the contacts' }).click();
    await p.getByTestId('import-result').waitFor();
    await shot('32-contacts-import-done');
  });

  await step('contacts: the list finds the imported customers by name, phone and tag', async () => {
    await p.getByRole('link', { name: 'See the contacts' }).click();
    const table = p.getByTestId('contact-table');
    await p.getByLabel('Search by name or phone').fill(`Imported Customer ${matched}`);
    const row = table.locator('tr.contact', { hasText: `Imported Customer ${matched}` });
    await row.waitFor();
    matchedContactId = (await row.getAttribute('data-contact-id')) ?? '';
    assert(matchedContactId, 'the row has a contact id');
    await p.getByLabel('Search by name or phone').fill(customerPhone(matched));
    await until('the search by phone', async () => (await table.locator('tr.contact').count()) === 1 && (await row.isVisible()));
    await p.getByLabel('Search by name or phone').fill('');
    await p.locator('#contact-tag').selectOption({ label: 'vip' });
    await until('the tag filter', async () => (await table.locator('tr.contact').count()) === MATCHED);
    await shot('33-contacts-list-vip');
    await p.locator('#contact-tag').selectOption({ label: 'All tags' });
  });

  await step("contacts: the inbox's contact card of a matched customer shows the imported name and tags; pin it", async () => {
    const text = `Is my order on its way? ${Date.now()}`;
    const sent = await post(`${ctx.simnetUrl}/hooks/send`, { from: customerPhone(matched).slice(1), to: ctx.ownerPhone, text });
    assert(sent.status === 201, `simnet send: ${sent.status}`);
    await p.goto('/inbox');
    const item = p.locator('button.item', { hasText: text });
    await item.waitFor({ timeout: 60_000 });
    // The list shows the book's name (not the WhatsApp push name) and the contact's tags as coloured chips.
    const listed = (await item.getByTestId('conversation-name').textContent())?.trim();
    assert(listed === `Imported Customer ${matched}`, `the list names the conversation ${JSON.stringify(listed)}`);
    const chips = (await item.getByTestId('conversation-tags').locator('.chip').allTextContents()).map((t) => t.trim()).sort();
    assert(JSON.stringify(chips) === JSON.stringify(['imported', 'vip']), `list tags ${JSON.stringify(chips)}`);
    const chipBg = await item
      .locator('.chip')
      .first()
      .evaluate((el) => getComputedStyle(el).backgroundColor);
    assert(chipBg && chipBg !== 'rgba(0, 0, 0, 0)', `list tag colour ${chipBg}`);
    // The button is named by its visible text (WCAG "label in name"), tags included.
    const named = p.getByRole('button', { name: new RegExp(`^Imported Customer ${matched}\\b.*\\bvip\\b`) });
    assert((await named.count()) === 1, 'the tags are in the accessible name');
    await item.click();
    await p.getByRole('heading', { name: `Imported Customer ${matched}`, level: 2 }).waitFor(); // the conversation's heading too
    const card = p.getByTestId('contact-card');
    await card.getByTestId('contact-card-name').getByText(`Imported Customer ${matched}`).waitFor();
    const tags = (await card.getByTestId('contact-card-tags').locator('li').allTextContents()).map((t) => t.trim()).sort();
    assert(JSON.stringify(tags) === JSON.stringify(['imported', 'vip']), `card tags ${JSON.stringify(tags)}`);
    const bg = await card
      .getByTestId('contact-card-tags')
      .locator('li')
      .first()
      .evaluate((el) => getComputedStyle(el).backgroundColor);
    assert(bg && bg !== 'rgba(0, 0, 0, 0)', `tag colour ${bg}`);
    await card.getByRole('button', { name: 'Pin as a favourite' }).click();
    await card.getByRole('button', { name: 'Unpin from favourites' }).waitFor();
    await shot('34-inbox-contact-card');
  });

  await step('contacts: the pinned customer comes first in the list', async () => {
    await nav('Contacts').click();
    const first = p.getByTestId('contact-table').locator('tr.contact').first();
    await until('the favourite first', async () => (await first.getAttribute('data-contact-id')) === matchedContactId);
    assert((await first.getAttribute('data-favourite')) === 'true', 'marked as favourite');
  });

  await step("contacts: '+' adds a new contact with a new tag", async () => {
    await p.getByRole('link', { name: 'Add a contact' }).click();
    await p.getByRole('heading', { name: 'New contact' }).waitFor();
    await p.getByLabel('Name', { exact: true }).fill('Added By Hand');
    await p.getByLabel(/^Phones/).fill('+55 31 98888-7777');
    await p.getByLabel('Company', { exact: true }).fill('Hand Made SA');
    await p.getByLabel('New tag', { exact: true }).fill('partner');
    await p.getByRole('button', { name: 'Add tag' }).click();
    await p.getByRole('checkbox', { name: 'partner' }).waitFor();
    assert(await p.getByRole('checkbox', { name: 'partner' }).isChecked(), 'the new tag is ticked');
    await p.getByRole('button', { name: 'Save contact' }).click();
    await p.getByRole('heading', { name: 'Contacts', level: 1 }).waitFor();
    await p.getByLabel('Search by name or phone').fill('Added By Hand');
    const row = p.getByTestId('contact-table').locator('tr.contact', { hasText: 'Added By Hand' });
    await row.waitFor();
    assert((await row.textContent())?.includes('+5531988887777'), 'the phone in E.164');
    await row.locator('li.tag', { hasText: 'partner' }).waitFor();
    await shot('35-contacts-added');
  });

  await step(
    'contacts: a tag made in the catalogue (name and colour) is added to a selection (select-all of the page, one unticked)',
    async () => {
      await p.getByRole('link', { name: 'Tags and settings' }).click();
      await p.getByRole('heading', { name: 'Tags and settings', level: 1 }).waitFor();
      const catalogue = p.getByTestId('tag-catalogue');
      await catalogue.getByLabel('Name', { exact: true }).fill('priority');
      await catalogue.getByLabel('Other', { exact: true }).fill('#800080');
      await catalogue.getByRole('button', { name: 'Add the tag' }).click();
      const chip = catalogue.locator('li', { hasText: 'priority' }).locator('.tag');
      await chip.waitFor();
      const bg = await chip.evaluate((el) => getComputedStyle(el).backgroundColor);
      assert(bg === 'rgb(128, 0, 128)', `the chosen colour ${bg}`);
      await shot('36-contacts-tags');
      // A tag deleted (owners and admins, after a confirmation) leaves the catalogue.
      await catalogue.getByLabel('Name', { exact: true }).fill('obsolete');
      await catalogue.getByRole('button', { name: 'Add the tag' }).click();
      await catalogue.locator('li', { hasText: 'obsolete' }).waitFor();
      p.once('dialog', (d) => void d.accept());
      await catalogue.getByRole('button', { name: 'Delete the tag obsolete' }).click();
      await catalogue.getByRole('status').getByText('Tag “obsolete” deleted.').waitFor();
      assert((await catalogue.locator('li', { hasText: 'obsolete' }).count()) === 0, 'the deleted tag is gone');
      await p.getByRole('link', { name: '← Contacts' }).click();
      const table = p.getByTestId('contact-table');
      // "Imported Customer 1" matches customers 1 and 10–15.
      await p.getByLabel('Search by name or phone').fill('Imported Customer 1');
      await until('the search', async () => (await table.locator('tr.contact').count()) === 7);
      await p.getByLabel('Select every contact shown').check();
      await p.getByTestId('selected-count').getByText('Selected: 7').waitFor();
      await p.getByLabel('Select Imported Customer 10', { exact: true }).uncheck();
      // The box's `indeterminate` follows on the next change detection, not within the click Playwright waits for.
      await until('the select-all box is half-ticked', () =>
        p.getByLabel('Select every contact shown').evaluate((el) => (el as HTMLInputElement).indeterminate),
      );
      await p.locator('#bulk-tag').selectOption({ label: 'priority' });
      await p.getByRole('button', { name: 'Add the tag' }).click();
      await p.getByRole('status').getByText('Contacts changed: 6').waitFor();
      const tagged = table.locator('tr.contact', { has: p.locator('li.tag', { hasText: 'priority' }) });
      await until('the chips', async () => (await tagged.count()) === 6);
      const untagged = table.locator('tr.contact', { hasText: 'Imported Customer 10' }).locator('li.tag', { hasText: 'priority' });
      assert((await untagged.count()) === 0, 'the unticked contact is not tagged');
      await shot('37-contacts-bulk-tag');
      assert((await priorityCount()) === 6, 'six contacts have the tag in the api');
    },
  );

  await step(
    'contacts: the tag removed from two selected contacts goes from the list and from the api',
    async () => {
      const table = p.getByTestId('contact-table');
      const tagged = table.locator('tr.contact', { has: p.locator('li.tag', { hasText: 'priority' }) });
      // The selection bar comes and goes above the table, moving its rows: each tick waits for the bar to settle (a
      // click aimed at a row while the bar appears lands on the row above, unticking it).
      await p.getByRole('button', { name: 'Clear the selection' }).click();
      await p.getByTestId('selected-count').waitFor({ state: 'detached' });
      await p.getByLabel('Select Imported Customer 11', { exact: true }).check();
      await p.getByTestId('selected-count').getByText('Selected: 1').waitFor();
      await p.getByLabel('Select Imported Customer 12', { exact: true }).check();
      await p.getByTestId('selected-count').getByText('Selected: 2').waitFor();
      await p.locator('#bulk-tag').selectOption({ label: 'priority' });
      await p.getByRole('button', { name: 'Remove the tag' }).click();
      // The outcome: the removal's notice, or the error the page shows instead (named in the failure).
      const outcome = p
        .getByRole('status')
        .getByText(/removed\. Contacts changed/)
        .or(p.getByRole('alert'));
      await outcome.first().waitFor();
      const said = (await outcome.first().textContent())?.trim();
      assert(said?.includes('Contacts changed: 2.'), `the removal says "Contacts changed: 2", not "${said}"`);
      await until('the chips', async () => (await tagged.count()) === 4);
      const left = await priorityCount();
      assert(left === 4, `four contacts keep the tag in the api, not ${left}`);
    },
    { blocking: false },
  );

  await step('contacts: two contacts merged from the list are unmerged from the kept one', async () => {
    for (const [name, phone] of [
      ['Merge Me A', '+5531977770001'],
      ['Merge Me B', '+5531977770002'],
    ]) {
      const r = await fetch(`${ctx.apiUrl}/v1/contacts`, {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json' },
        body: JSON.stringify({ name, phones: [phone] }),
      });
      assert(r.status === 201, `create ${name}: ${r.status}`);
    }
    const table = p.getByTestId('contact-table');
    await p.getByLabel('Search by name or phone').fill('Merge Me');
    await until('the search', async () => (await table.locator('tr.contact').count()) === 2);
    await p.getByLabel('Select every contact shown').check();
    await p.getByRole('button', { name: 'Merge…' }).click();
    const panel = p.getByTestId('merge-panel');
    await panel.getByRole('radio', { name: /Merge Me A/ }).check();
    await panel.getByRole('button', { name: 'Merge', exact: true }).click();
    await p.getByText('Merged into Merge Me A.').waitFor();
    await until('one contact left', async () => (await table.locator('tr.contact').count()) === 1);
    await table.getByRole('link', { name: 'Merge Me A' }).click();
    const merged = p.getByTestId('merged-contacts');
    await merged.waitFor();
    assert((await p.getByLabel(/^Phones/).inputValue()).includes('+5531977770002'), "the kept contact has the other's phone");
    await shot('38-contacts-merged');
    await merged.getByText('Merge Me B').waitFor(); // the merged contact is named
    await merged.getByRole('button', { name: /^Unmerge Merge Me B, merged on / }).click();
    await merged.getByTestId('unmerged-notice').getByRole('link', { name: 'Merge Me B' }).waitFor();
    await merged.getByText('No contact is merged into this one.').waitFor();
    await until('the phone given back', async () => !(await p.getByLabel(/^Phones/).inputValue()).includes('+5531977770002'));
    await shot('39-contacts-unmerged');
    await merged.getByRole('link', { name: 'Merge Me B' }).click();
    await p.getByRole('heading', { name: 'Merge Me B', level: 1 }).waitFor();
    await until('B has its phone again', async () => (await p.getByLabel(/^Phones/).inputValue()) === '+5531977770002');
  });

  await step('contacts: the default country (owners and admins) reads local numbers', async () => {
    await nav('Contacts').click();
    await p.getByRole('link', { name: 'Tags and settings' }).click();
    const section = p.getByTestId('default-country');
    const select = section.locator('#default-country');
    await until('the countries', async () => (await select.locator('option').count()) > 200);
    await select.selectOption('BR');
    await section.getByRole('button', { name: 'Save' }).click();
    await section.getByRole('status').getByText('Default country saved.').waitFor();
    const settings = (await (await fetch(`${ctx.apiUrl}/v1/contact-settings`, { headers: auth() })).json()) as { defaultCountry: string };
    assert(settings.defaultCountry === 'BR', `stored ${JSON.stringify(settings)}`);
    await shot('40-contacts-settings');
    await p.getByRole('link', { name: '← Contacts' }).click();
    await p.getByRole('link', { name: 'Add a contact' }).click();
    await p.getByLabel('Name', { exact: true }).fill('Local Number');
    await p.getByLabel(/^Phones/).fill('(31) 98888-6666');
    await p.getByRole('button', { name: 'Save contact' }).click();
    await p.getByRole('heading', { name: 'Contacts', level: 1 }).waitFor();
    await p.getByLabel('Search by name or phone').fill('Local Number');
    const row = p.getByTestId('contact-table').locator('tr.contact', { hasText: 'Local Number' });
    await row.waitFor();
    assert((await row.textContent())?.includes('+5531988886666'), 'the local number read in Brazil');
  });
}
