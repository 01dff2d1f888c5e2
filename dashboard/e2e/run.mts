/**
 * Dashboard end-to-end test: a real api (process provider, simulated engine), a real MongoDB-wire server, the
 * simulated WhatsApp network and headless Chromium (playwright-core) driving the built dashboard that the api serves
 * from DASHBOARD_DIR. Screenshots of every page go to dashboard/e2e-screenshots/ (git-ignored); the main pages are walked
 * and photographed in English, Russian and Brazilian Portuguese (`<lang>-NN-page.png`, expectations in locales.mts).
 * The first check runs scripts/check-i18n.mjs (unmarked template strings, locale files lacking messages). This file
 * starts the platform and runs the steps in order: its own (sign-up, wallet, profile, phone widths, Stop/Start, deletion,
 * sign-out), then instance-steps.mts, contacts.mts, webhooks.mts, locale-steps.mts and inbox.mts; harness.mts is the
 * step runner, and after a failure prints the api's output and every instance's log.
 *
 * Needs: the repo built (`npm run build` at the root: api, instance, testenv dist), the dashboard built
 * (`npm run e2e -w dashboard` builds it first), a MongoDB-wire server (`make tools`), /usr/bin/chromium
 * (or CHROMIUM_PATH). Prints `e2e: N passed, N failed`; exit status 1 on any failure.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { freePort, startMongo, startProcess, waitForPort, type ManagedProcess, type MongoServer } from '@wacloud/testenv';
import { TEST_CHROMIUM_ARGS } from './chromium-args.mts';
import { contactSteps, createWhatsAppCustomers } from './contacts.mts';
import {
  assert,
  failOutsideSteps,
  json,
  killLeftovers,
  printDiagnostics,
  resetShots,
  results,
  shot,
  shotsDir,
  step,
  STEP_TIMEOUT,
  useCachedFerret,
  usePage,
} from './harness.mts';
import { inboxSteps } from './inbox.mts';
import { instanceSteps } from './instance-steps.mts';
import { localeSteps } from './locale-steps.mts';
import { webhookSteps } from './webhooks.mts';

const here = path.dirname(fileURLToPath(import.meta.url));
const dashboardDir = path.resolve(here, '..');
const repo = path.resolve(dashboardDir, '..');
const distDir = path.join(dashboardDir, 'dist', 'dashboard', 'browser');
const chromePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PASSWORD = 'correct horse battery staple';
const OWNER_PHONE = '15550001111';
const PEER_PHONE = '15550002222';

async function main(): Promise<number> {
  useCachedFerret();
  assert(existsSync(path.join(distDir, 'index.html')), `no dashboard build in ${distDir}: run \`npm run build -w dashboard\``);
  for (const f of ['api/dist/main.js', 'instance/dist/main.js', 'simnet/dist/main.js', 'testenv/dist/index.js'])
    assert(existsSync(path.join(repo, f)), `missing ${f}: run \`npm run build\` at the repo root`);
  assert(existsSync(chromePath), `no Chromium at ${chromePath} (set CHROMIUM_PATH)`);
  resetShots();

  let mongo: MongoServer | undefined;
  let simnet: ManagedProcess | undefined;
  let api: ManagedProcess | undefined;
  let browser: Browser | undefined;
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'wacloud-dash-e2e-'));
  let apiUrl = '';
  let accessToken: string | undefined;
  let instanceId: string | undefined;
  const consoleErrors: string[] = [];

  await step(
    'i18n: every template string is marked, every locale file has every message, styles are RTL-safe (scripts/check-i18n.mjs)',
    async () => {
      const r = spawnSync(process.execPath, [path.join(dashboardDir, 'scripts', 'check-i18n.mjs')], {
        cwd: dashboardDir,
        encoding: 'utf8',
      });
      assert(r.status === 0, `check-i18n failed:\n${r.stderr}${r.stdout}`);
    },
    { independent: true },
  );

  try {
    console.log('e2e: starting MongoDB-wire server, simulated network, api…');
    mongo = await startMongo();
    const simnetPort = await freePort();
    simnet = startProcess({
      command: process.execPath,
      args: [path.join(repo, 'simnet/dist/main.js')],
      env: { ...process.env, SIMNET_PORT: String(simnetPort), SIMNET_HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    });
    await simnet.waitForOutput(/simnet listening/, 20_000);
    const simnetUrl = `http://127.0.0.1:${simnetPort}`;
    const apiPort = await freePort();
    api = startProcess({
      command: process.execPath,
      args: [path.join(repo, 'api/dist/main.js')],
      env: {
        ...process.env,
        PORT: String(apiPort),
        HOST: '127.0.0.1',
        MONGODB_URI: mongo.dbUri(`dash_e2e_${process.pid}`),
        JWT_SECRET: 'dashboard-e2e-jwt-secret-0123456789abcdef',
        PROVIDER: 'process',
        ENGINE: 'simulated',
        SIMNET_URL: simnetUrl,
        PROCESS_DATA_ROOT: dataRoot,
        DASHBOARD_DIR: distDir,
        WEBHOOK_ALLOW_CIDRS: '127.0.0.1/32', // the webhook steps' receiver listens on loopback
        LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'info', // its output's tail is printed after a failure
      },
    });
    await Promise.race([
      waitForPort(apiPort, '127.0.0.1', 30_000),
      api.exited.then((c) => Promise.reject(new Error(`api exited with ${c}:\n${api!.output()}`))),
    ]);
    apiUrl = `http://127.0.0.1:${apiPort}`;
    const peer = await json(`${simnetUrl}/hooks/accounts`, {
      method: 'POST',
      body: JSON.stringify({ phone: PEER_PHONE, pushname: 'Peer' }),
    });
    assert(peer.status === 201, `simnet account: ${peer.status}`);
    await createWhatsAppCustomers(simnetUrl); // before the login: its contact sync brings them (contacts.mts)

    browser = await chromium.launch({
      executablePath: chromePath,
      headless: true,
      args: [...TEST_CHROMIUM_ARGS],
    });
    // The browser asks for English and runs in UTC: the member's own language and time zone must come from the switch.
    const contextOptions = { viewport: { width: 1280, height: 900 }, baseURL: apiUrl, locale: 'en-US', timezoneId: 'UTC' };
    const context = await browser.newContext(contextOptions);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: apiUrl }).catch(() => undefined);
    const p = await context.newPage();
    usePage(p);
    p.setDefaultTimeout(STEP_TIMEOUT);
    p.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    // Every WebSocket the dashboard opens (its live streams authenticate with single-use tickets, never a token).
    const socketUrls: string[] = [];
    p.on('websocket', (ws) => socketUrls.push(ws.url()));
    const nav = (name: string) => p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
    const email = `e2e-${Date.now()}@example.com`;
    const readToken = () =>
      p.evaluate(() => JSON.parse(localStorage.getItem('wacloud.session') ?? 'null')?.accessToken as string | undefined);
    console.log(`e2e: api ${apiUrl}, simnet ${simnetUrl}, mongo ${mongo.kind}`);

    await step('unauthenticated visit goes to the login page', async () => {
      await p.goto('/instances');
      await p.waitForURL(/\/login/);
      await p.getByRole('heading', { name: 'Log in' }).waitFor();
      await shot('01-login');
    });

    await step('a first visit follows the browser language: the login page in Portuguese (pt-BR) and Russian (ru-RU)', async () => {
      for (const [locale, lang, heading, link] of [
        ['pt-BR', 'pt-BR', 'Entrar', 'Crie uma'],
        ['ru-RU', 'ru', 'Вход', 'Зарегистрируйтесь'],
      ] as const) {
        const other: BrowserContext = await browser!.newContext({ ...contextOptions, locale });
        try {
          const q = await other.newPage();
          await q.goto('/login');
          await q.getByRole('heading', { name: heading }).waitFor();
          await q.getByRole('link', { name: link }).waitFor();
          assert((await q.getAttribute('html', 'lang')) === lang, `html lang ${await q.getAttribute('html', 'lang')}`);
          assert((await q.title()).startsWith(heading), `title ${await q.title()}`);
          await q.screenshot({ path: path.join(shotsDir, `${lang}-00-login.png`), fullPage: true });
        } finally {
          await other.close();
        }
      }
    });

    await step('a new user registers and lands on the instances page', async () => {
      await p.getByRole('link', { name: 'Create one' }).click();
      await p.getByRole('heading', { name: 'Create an account' }).waitFor();
      await p.getByLabel('Email').fill(email);
      await p.getByLabel(/^Password/).fill(PASSWORD);
      await p.getByLabel('Repeat the password').fill(PASSWORD);
      await shot('02-register');
      await p.getByRole('button', { name: 'Create account' }).click();
      await p.waitForURL(/\/instances$/);
      await p.getByText('You have no instances yet').waitFor();
      accessToken = await readToken();
      assert(accessToken, 'no access token in localStorage');
    });

    await step('creating an instance without money shows the insufficient-funds message', async () => {
      await p.getByTestId('price-line').waitFor();
      await p.getByLabel('Name').fill('Support line');
      await p.getByRole('button', { name: 'Create instance' }).click();
      const msg = await p.getByTestId('create-error').textContent();
      assert(/balance is too low/i.test(msg ?? ''), `unexpected message: ${msg}`);
      await shot('03-instances-empty-402');
    });

    await step('the user deposits 50.00 in the wallet (sent as 5000 minor units)', async () => {
      await nav('Wallet').click();
      await p.getByRole('heading', { name: 'Wallet' }).waitFor();
      await p.getByLabel(/Amount in/).fill('50');
      await p.getByRole('button', { name: 'Add money' }).click();
      await p.getByText('New balance: $50.00').waitFor();
      await p.getByRole('cell', { name: '+$50.00' }).waitFor();
      const tx = await json(`${apiUrl}/v1/wallet/transactions`, { headers: { authorization: `Bearer ${accessToken}` } });
      assert(tx.body.items[0]?.amountMinor === 5000, `deposit amount ${tx.body.items[0]?.amountMinor}`);
    });

    await step('the session survives a reload', async () => {
      await p.reload();
      await p.getByTestId('wallet-balance').getByText('$50.00').waitFor();
      assert(/\/wallet$/.test(p.url()), `after reload at ${p.url()}`);
    });

    await instanceSteps({
      page: p,
      nav,
      apiUrl,
      simnetUrl,
      ownerPhone: OWNER_PHONE,
      peerPhone: PEER_PHONE,
      accessToken: () => accessToken,
      setInstanceId: (id) => (instanceId = id),
      socketUrls,
    });

    await contactSteps({
      page: p,
      apiUrl,
      simnetUrl,
      ownerPhone: OWNER_PHONE,
      instanceId: () => instanceId,
      accessToken: () => accessToken,
    });

    await webhookSteps({ page: p, instanceId: () => instanceId });

    await step('the profile shows email, balance and member since', async () => {
      await nav('Profile').click();
      await p.getByTestId('profile-email').getByText(email).waitFor();
      await p.getByTestId('profile-balance').getByText('$35.00').waitFor();
      await p.getByText('Member since').waitFor();
      await shot('11-profile');
    });

    await step('pages fit a phone screen (390 px, no horizontal scroll)', async () => {
      await p.setViewportSize({ width: 390, height: 844 });
      for (const [url, name] of [
        ['/instances', '12-phone-instances'],
        ['/wallet', '13-phone-wallet'],
        [`/instances/${instanceId}`, '14-phone-instance'],
      ] as const) {
        await p.goto(url);
        await p.locator('h1').first().waitFor();
        await p.waitForLoadState('networkidle').catch(() => undefined);
        const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        await shot(name);
        assert(overflow <= 1, `${url} scrolls sideways by ${overflow}px at phone width`);
      }
      await p.setViewportSize({ width: 1280, height: 900 });
    });

    await step('Stop, Start and Restart on the instance card: Stopped, then WORKING again without a QR', async () => {
      await p.goto('/instances');
      const card = p.locator(`li.instance[data-instance-id="${instanceId}"]`);
      await card.getByRole('button', { name: 'Stop', exact: true }).click();
      await card.getByText('Stopped', { exact: true }).waitFor();
      await card.getByText(/still billed/).waitFor();
      await shot('14b-instance-stopped');
      await card.getByRole('button', { name: 'Start', exact: true }).click();
      await card.getByTestId('session-state').getByText('WORKING').waitFor({ timeout: 30_000 });
      await card.getByRole('button', { name: 'Restart', exact: true }).click();
      await card.getByRole('button', { name: 'Stop', exact: true }).waitFor();
      await card.getByTestId('session-state').getByText('WORKING').waitFor({ timeout: 30_000 });
    });

    await localeSteps({
      page: p,
      browser,
      contextOptions,
      apiUrl,
      email,
      password: PASSWORD,
      peerPhone: PEER_PHONE,
      accessToken: () => accessToken,
      instanceId: () => instanceId,
    });

    await step('deleting the instance asks for confirmation and removes it', async () => {
      await p.goto('/instances');
      const card = p.locator(`li.instance[data-instance-id="${instanceId}"]`);
      await card.getByRole('button', { name: 'Delete Support line' }).click();
      await shot('15-instances-delete-confirm');
      await card.getByRole('button', { name: 'Yes, delete' }).click();
      await p.getByText('You have no instances yet').waitFor();
      instanceId = undefined;
    });

    await step('sign out revokes the token and forgets it', async () => {
      const token = accessToken;
      await p.getByRole('button', { name: 'Sign out' }).first().click();
      await p.waitForURL(/\/login/);
      assert((await readToken()) === undefined, 'token still stored');
      const r = await json(`${apiUrl}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
      assert(r.status === 401, `revoked token answered ${r.status}`);
      accessToken = undefined;
    });

    await inboxSteps({ browser: browser!, contextOptions, apiUrl, simnetUrl });

    await step('the browser console stayed free of errors', async () => {
      // 401/402: the log-in and money steps; 422: the refused webhook URL.
      const unexpected = consoleErrors.filter((e) => !/status of (40[12]|422)/.test(e));
      assert(unexpected.length === 0, `console errors:\n${unexpected.join('\n')}`);
    });
  } catch (err) {
    failOutsideSteps('setup failed', err);
  } finally {
    // After a failure, first what the api and the instances logged (deleting the instance removes its log).
    if (results().failed) printDiagnostics(api?.output(), dataRoot);
    // Clean up: the instance (and its process), the browser, the api, simnet, MongoDB — then any instance process left.
    if (instanceId && accessToken && apiUrl)
      await fetch(`${apiUrl}/v1/instances/${instanceId}`, { method: 'DELETE', headers: { authorization: `Bearer ${accessToken}` } }).catch(
        () => undefined,
      );
    await browser?.close().catch(() => undefined);
    await api?.stop().catch(() => undefined);
    await simnet?.stop().catch(() => undefined);
    killLeftovers(dataRoot);
    await mongo?.stop().catch(() => undefined);
    rmSync(dataRoot, { recursive: true, force: true });
  }
  const { passed, failed, failures } = results();
  console.log(`e2e: screenshots in ${path.relative(process.cwd(), shotsDir) || shotsDir}`);
  if (failures.length) console.log(`e2e: failed: ${failures.join('; ')}`);
  console.log(`e2e: ${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

process.exitCode = await main();
