// Browser tests of the reset page's languages (pkg/gateway/page.go,
// page/text/*.json), in Debian's Chromium driven by playwright-core,
// against a dev stack of their own: one link opened by a browser that
// asks for German (Accept-Language: de-DE) and by one that asks for
// English, the script's own messages and the server's reasons shown in the
// page's language, and the mail itself in the request's language.
//
// Run with `node --test pkg/devserver/browser/reset-page-languages.test.mjs`
// (or `make test-browser`). Screenshots go to .dev/screenshots/lang-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';

import { openStack, shots } from './devstack.mjs';

const demo = 'demo@example.com';
const support = 'help@example.com';

let stack; // { api, ses, dynamodb, bin, browser, close }: devstack.mjs

before(async () => {
  stack = await openStack('languages', { MIN_SEND_INTERVAL: '0s', MAX_SENDS_PER_HOUR: '100', SUPPORT_EMAIL: support });
});

after(async () => {
  await stack?.close();
});

async function mails() {
  const resp = await fetch(`${stack.ses}/store`);
  assert.equal(resp.status, 200, 'GET /store of the SES emulator');
  return (await resp.json()).emails ?? [];
}

// requestLink asks for a link with acceptLanguage and returns the new mail
// and the link in it.
async function requestLink(acceptLanguage) {
  const before = (await mails()).length;
  const resp = await fetch(`${stack.api}/auth/request-reset-password`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Accept-Language': acceptLanguage },
    body: JSON.stringify({ email: demo }),
  });
  assert.equal(resp.status, 200);
  // The JSON answer is the contract's, in English, whatever was asked.
  assert.deepEqual(await resp.json(), { message: 'Reset link sent' });
  for (let i = 0; i < 100; i++) {
    const fresh = (await mails()).slice(before).filter((m) => (m.destination?.to ?? []).includes(demo));
    if (fresh.length > 0) {
      const mail = fresh.at(-1);
      const link = (mail.body?.text ?? '').match(/https?:\/\/[^\s"'<>]+\/auth\/reset-password\/[0-9a-f]{64}/);
      assert.ok(link, `no reset link in the mail: ${mail.body?.text}`);
      return { mail, link: link[0] };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail('no new mail');
}

// open opens link in a browser whose language is locale (Playwright sends
// it as Accept-Language), failing on a CSP violation or a script error.
async function open(link, locale) {
  const context = await stack.browser.newContext({ locale, viewport: { width: 800, height: 760 } });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(String(err)));
  const resp = await page.goto(link);
  assert.equal(resp.status(), 200);
  return { context, page, problems, headers: resp.headers() };
}

test('German: the mail, the page, its checks and the server\'s reasons', async () => {
  const { mail, link } = await requestLink('de-DE,de;q=0.9,en;q=0.5');
  assert.match(mail.subject, /^Passwort für .* zurücksetzen$/);
  assert.match(mail.body.text, /Für Ihr Konto bei .* wurde das Zurücksetzen des Passworts angefordert/);
  assert.match(mail.body.text, new RegExp(`Schreiben Sie uns an ${support}`));

  const { context, page, problems, headers } = await open(link, 'de-DE');
  assert.equal(headers['content-language'], 'de');
  assert.equal(await page.locator('html').getAttribute('lang'), 'de');
  await page.getByRole('heading', { name: 'Neues Passwort festlegen' }).waitFor();
  await page.getByText('8 bis 128 Zeichen lang sein').waitFor();
  await page.getByText(`Brauchen Sie Hilfe? Schreiben Sie uns an ${support}.`).waitFor();
  await page.getByLabel('Passwörter anzeigen').waitFor(); // the script ran
  await page.screenshot({ path: join(shots, 'lang-01-de-form.png'), fullPage: true });

  // The script's own check, in German.
  const pw = page.getByLabel('Neues Passwort', { exact: true });
  await pw.fill('kurz1');
  await page.keyboard.press('Tab');
  const pwError = page.locator('#new_password-error');
  await pwError.getByText('Das Passwort muss mindestens 8 Zeichen lang sein.').waitFor();

  // The server's reason, sent in English by the JSON answer, shown in German.
  await pw.fill('password123');
  await page.getByLabel('Neues Passwort bestätigen').fill('password123');
  await page.getByRole('button', { name: 'Passwort speichern' }).click();
  await pwError.getByText('Dieses Passwort wird zu häufig verwendet.', { exact: false }).waitFor();
  await page.screenshot({ path: join(shots, 'lang-02-de-common.png'), fullPage: true });

  const good = 'violet tractor 4 pebble lantern';
  await pw.fill(good);
  await page.getByLabel('Neues Passwort bestätigen').fill(good);
  await page.getByRole('button', { name: 'Passwort speichern' }).click();
  await page.getByRole('heading', { name: 'Ihr Passwort wurde geändert' }).waitFor();
  await page.screenshot({ path: join(shots, 'lang-03-de-done.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await context.close();
});

test('English: the same page for a browser that asks for English', async () => {
  const { mail, link } = await requestLink('en-US,en;q=0.9');
  assert.match(mail.body.text, /Someone asked to reset the password of your .* account/);

  const { context, page, problems, headers } = await open(link, 'en-US');
  assert.equal(headers['content-language'], 'en');
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
  await page.getByText('8 to 128 characters long').waitFor();
  await page.getByText(`Need help? Write to ${support}.`).waitFor();
  const pw = page.getByLabel('New password', { exact: true });
  await pw.fill('short1');
  await page.keyboard.press('Tab');
  await page.locator('#new_password-error').getByText('Password must be at least 8 characters.').waitFor();
  await page.screenshot({ path: join(shots, 'lang-04-en-form.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await context.close();
});
