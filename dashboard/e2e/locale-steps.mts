/**
 * Dashboard end-to-end steps of the languages: the member's language switched in the top bar (Russian) and in the
 * profile with a time zone (Brazilian Portuguese, São Paulo), then back to English; each time the main pages are
 * walked, asserted in that language (amounts, dates, headings; expectations in locales.mts) and photographed
 * (`<lang>-NN-page.png`). Also: right-to-left text in a message bubble, and a new sign-in opening in the member's language.
 */
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { assert, json, shot, step, until } from './harness.mts';
import { LOCALE_PAGES, norm, type LocaleExpectations } from './locales.mts';

export interface LocaleStepsContext {
  page: Page;
  browser: Browser;
  contextOptions: BrowserContextOptions;
  apiUrl: string;
  email: string;
  password: string;
  peerPhone: string;
  accessToken: () => string | undefined;
  instanceId: () => string | undefined;
}

export async function localeSteps(c: LocaleStepsContext): Promise<void> {
  const { page: p, browser, contextOptions, apiUrl, email, password: PASSWORD, peerPhone: PEER_PHONE } = c;
  const me = async () => (await json(`${apiUrl}/v1/me`, { headers: { authorization: `Bearer ${c.accessToken()}` } })).body;
  /** Walks instances, wallet, instance page, tokens and profile in one language, asserting and photographing each. */
  const walk = async (x: LocaleExpectations, timeZone: string) => {
    const heading = (name: string, level = 1) => p.getByRole('heading', { name, exact: true, level });
    await p.goto('/instances');
    await heading(x.instances).waitFor();
    assert((await p.getAttribute('html', 'lang')) === x.lang, `html lang ${await p.getAttribute('html', 'lang')}`);
    const price = norm(await p.getByTestId('price-line').textContent());
    assert(price.includes(x.price), `price line "${price}" lacks ${x.price}`);
    const paid = norm(await p.getByTestId('paid-until').first().textContent());
    assert(x.day.test(paid) && paid.includes('00:00 UTC'), `paid until "${paid}"`);
    await p.getByTestId('session-state').getByText(x.working, { exact: true }).waitFor();
    await shot(`${x.lang}-01-instances`);

    await p.goto('/wallet');
    await heading(x.wallet).waitFor();
    await until('the balance', async () => norm(await p.getByTestId('wallet-balance').textContent()) === x.balance);
    const tx = (await json(`${apiUrl}/v1/wallet/transactions`, { headers: { authorization: `Bearer ${c.accessToken()}` } })).body.items[0];
    const shown = norm(await p.getByTestId('tx-date').first().textContent());
    const fmt = (tz: string) =>
      p.evaluate(
        ([iso, locale, tz]) =>
          new Date(iso!).toLocaleString(locale, {
            year: 'numeric',
            month: 'short',
            day: 'numeric',
            hour: '2-digit',
            minute: '2-digit',
            timeZone: tz,
          }),
        [tx.createdAt as string, x.lang, tz],
      );
    assert(shown === norm(await fmt(timeZone)), `transaction date "${shown}", expected "${norm(await fmt(timeZone))}" (${timeZone})`);
    assert(x.day.test(shown), `transaction date "${shown}" is not written in ${x.lang}`);
    if (timeZone !== 'UTC') assert(shown !== norm(await fmt('UTC')), `"${shown}" is the browser's UTC, not the member's ${timeZone}`);
    const amount = norm(await p.locator('td.num').first().textContent());
    // The newest row is the month's charge (-15.00) or, on a slow clock, the deposit (+50.00): either in the language's format.
    const bare = amount.replace(/\s/g, '').replace(/^[-−+]/, '');
    assert([x.price, x.balance.replace('35', '50')].map((v) => v.replace(/\s/g, '')).includes(bare), `amount "${amount}"`);
    await shot(`${x.lang}-02-wallet`);

    await p.goto(`/instances/${c.instanceId()}`);
    await heading(x.session, 2).waitFor();
    await p.getByTestId('session-state').getByText(x.working, { exact: true }).waitFor();
    await shot(`${x.lang}-03-instance`);

    await p.goto(`/instances/${c.instanceId()}/tokens`);
    await heading(x.tokens).waitFor();
    await shot(`${x.lang}-04-tokens`);

    await p.goto('/profile');
    await heading(x.profile).waitFor();
    const since = norm(await p.getByTestId('profile-since').textContent());
    assert(x.day.test(since), `member since "${since}"`);
    await shot(`${x.lang}-05-profile`);
  };

  await step('switching to Russian in the top bar saves it on the member; every page, amount and date is in Russian', async () => {
    await p.goto('/instances');
    await p.getByTestId('language').selectOption('ru');
    await p.getByRole('heading', { name: LOCALE_PAGES.ru.instances, level: 1 }).waitFor();
    await until('the saved language', async () => (await me()).locale === 'ru');
    await walk(LOCALE_PAGES.ru, 'UTC');
  });

  await step('a message in Arabic script sent from the Russian tester renders right-to-left in its bubble', async () => {
    const arabic = `مرحبا بالعالم ${Date.now()}`;
    await p.goto(`/instances/${c.instanceId()}`);
    await p.getByRole('tab', { name: 'Отправить сообщение' }).click();
    await p.getByLabel(/^Кому/).fill(PEER_PHONE);
    await p.getByLabel(/^Текст/).fill(arabic);
    await p.getByRole('button', { name: 'Отправить запрос' }).click();
    await p.getByTestId('tester-status').getByText('202').waitFor(); // queued, then sent by the instance's send queue
    const bubble = p.getByTestId('live-feed').locator('.body', { hasText: arabic });
    await bubble.waitFor();
    const dir = await bubble.evaluate((el) => getComputedStyle(el).direction);
    assert(dir === 'rtl', `the Arabic bubble runs ${dir}`);
    await shot('ru-06-instance-arabic-message');
  });

  await step("signing in on another browser (English) opens the dashboard in the member's Russian", async () => {
    const other = await browser.newContext(contextOptions);
    try {
      const q = await other.newPage();
      await q.goto('/login');
      await q.getByLabel('Email').fill(email);
      await q.getByLabel('Password').fill(PASSWORD);
      await q.getByRole('button', { name: 'Log in' }).click();
      await q.getByRole('heading', { name: LOCALE_PAGES.ru.instances, level: 1 }).waitFor();
      assert((await q.getAttribute('html', 'lang')) === 'ru', 'not reloaded in Russian');
    } finally {
      await other.close();
    }
  });

  await step('switching to Portuguese and the São Paulo time zone in the profile: pages, US$ amounts and dates follow', async () => {
    await p.goto('/profile');
    await p.locator('#pref-locale').selectOption('pt-BR');
    await p.getByRole('heading', { name: LOCALE_PAGES['pt-BR'].profile, level: 1 }).waitFor();
    // Saving the zone reloads the page once the api answered: marked, so the walk below waits for the new page
    // (navigating away before it came was interrupted by the reload).
    await p.evaluate(() => ((window as unknown as { beforeZone?: boolean }).beforeZone = true));
    await p.getByTestId('time-zone').selectOption('America/Sao_Paulo');
    await until('the saved preferences', async () => {
      const m = await me();
      return m.locale === 'pt-BR' && m.timeZone === 'America/Sao_Paulo';
    });
    await until('the reload after saving the zone', () => p.evaluate(() => !(window as unknown as { beforeZone?: boolean }).beforeZone));
    await p.getByRole('heading', { name: LOCALE_PAGES['pt-BR'].profile, level: 1 }).waitFor();
    await until('the time zone after the reload', async () => (await p.getByTestId('time-zone').inputValue()) === 'America/Sao_Paulo');
    await walk(LOCALE_PAGES['pt-BR'], 'America/Sao_Paulo');
  });

  await step('switching back to English: pages, $ amounts and dates in English, still in the member time zone', async () => {
    await p.getByTestId('language').selectOption('en');
    await p.getByRole('heading', { name: 'Profile', level: 1 }).waitFor();
    await until('the saved language', async () => (await me()).locale === 'en');
    await walk(LOCALE_PAGES.en, 'America/Sao_Paulo');
  });
}
