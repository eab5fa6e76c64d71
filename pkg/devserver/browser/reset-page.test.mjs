// Browser tests of the reset page (pkg/gateway/page.go), in Debian's
// Chromium driven by playwright-core, against the dev stack (passreset dev)
// on ports of its own: request a link, take it out of the mail in the SES
// emulator, open it and use it, with JavaScript and without.
//
// Run with `make test-browser` (or `node --test` on this file). Each state
// is also saved as a screenshot in .dev/screenshots/ (git-ignored), to be
// looked at.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';

import { openStack, root, run, shots } from './devstack.mjs';

const demo = 'demo@example.com';

let stack; // { api, ses, dynamodb, bin, browser, close }: devstack.mjs
let browser;

before(async () => {
  // Two links for one account within a test: no wait between sends.
  stack = await openStack('browser', { MIN_SEND_INTERVAL: '0s', MAX_SENDS_PER_HOUR: '100' });
  browser = stack.browser;
});

after(async () => {
  await stack?.close();
});

// mails returns the SES emulator's store, oldest first.
async function mails() {
  const resp = await fetch(`${stack.ses}/store`);
  assert.equal(resp.status, 200, 'GET /store of the SES emulator');
  return (await resp.json()).emails ?? [];
}

// requestLink asks for a link for email through the API and returns the
// URL in the mail it sends.
async function requestLink(email) {
  const before = (await mails()).length;
  const resp = await fetch(`${stack.api}/auth/request-reset-password`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email }),
  });
  assert.equal(resp.status, 200, `request a link: ${await resp.text()}`);
  return await linkInNewMail(email, before);
}

// linkInNewMail waits for a mail to email past the first `before` mails
// and returns the reset link in it.
async function linkInNewMail(email, before) {
  for (let i = 0; i < 100; i++) {
    const all = await mails();
    const fresh = all.slice(before).filter((m) => (m.destination?.to ?? []).includes(email));
    if (fresh.length > 0) {
      const m = fresh.at(-1);
      const text = `${m.body?.text ?? ''}\n${m.body?.html ?? ''}`;
      const link = text.match(/https?:\/\/[^\s"'<>]+\/auth\/reset-password\/[0-9a-f]{64}/);
      assert.ok(link, `no reset link in the mail: ${text}`);
      return link[0];
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`no new mail to ${email}`);
}

// checkPassword runs `passreset user check` against the dev stack's
// DynamoDB; it exits 0 when the password matches.
async function checkPassword(password) {
  await run(stack.bin, ['user', 'check', '--endpoint', stack.dynamodb, '--email', demo, '--password', password], { cwd: root });
}

// newPage opens a page that fails the test on a CSP violation or a
// script error: the page's inline script and style must run under its
// own policy.
async function newPage(options = {}) {
  const context = await browser.newContext({ viewport: { width: 800, height: 720 }, ...options });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (msg) => {
    // A 400 or 404 the page asked for and handles is not a problem.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(String(err)));
  return { context, page, problems };
}

async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

let usedLink; // the link the first test uses, for the second

test('with JavaScript: weak password refused, good one set, user check passes', async () => {
  const link = await requestLink(demo);
  assert.ok(link.startsWith(`${stack.api}/auth/reset-password/`), `link ${link} is not on the dev API ${stack.api}`);
  const { context, page, problems } = await newPage();

  const resp = await page.goto(link);
  assert.equal(resp.status(), 200);
  const h = resp.headers();
  assert.equal(h['referrer-policy'], 'no-referrer');
  assert.equal(h['cache-control'], 'no-store');
  assert.match(h['x-robots-tag'], /noindex/);
  assert.match(h['content-security-policy'], /frame-ancestors 'none'/);
  assert.doesNotMatch(h['content-security-policy'], /unsafe/);
  await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
  await page.getByText('8 to 128 characters long').waitFor();
  await page.getByLabel('Show passwords').waitFor(); // only the script shows it: it ran
  await shot(page, '01-js-form');

  // Too short: the rule, as soon as the field is left.
  await page.getByLabel('New password', { exact: true }).fill('short1');
  await page.keyboard.press('Tab');
  const pwError = page.locator('#new_password-error');
  await assert.doesNotReject(pwError.getByText('Password must be at least 8 characters.').waitFor());
  assert.equal(await page.getByLabel('New password', { exact: true }).getAttribute('aria-invalid'), 'true');
  await shot(page, '02-js-weak');

  // Long enough but common: the server's reason, in place.
  await page.getByLabel('New password', { exact: true }).fill('password123');
  await page.getByLabel('Confirm new password').fill('password123');
  await page.getByRole('button', { name: 'Set new password' }).click();
  await pwError.getByText('Password is too common').waitFor();
  await shot(page, '03-js-common');

  const good = 'violet tractor 4 pebble lantern';
  await page.getByLabel('New password', { exact: true }).fill(good);
  await page.getByLabel('Confirm new password').fill(good);
  assert.equal(await pwError.textContent(), '');
  await page.getByRole('button', { name: 'Set new password' }).click();
  await page.getByRole('heading', { name: 'Your password has been changed' }).waitFor();
  assert.equal(page.url(), link, 'the page changed in place');
  await shot(page, '04-js-done');

  await checkPassword(good);
  assert.deepEqual(problems, []);
  usedLink = link;

  // At the narrowest phone width nothing scrolls sideways.
  const narrow = await context.newPage();
  await narrow.setViewportSize({ width: 320, height: 640 });
  await narrow.goto(await requestLink(demo));
  await narrow.getByRole('heading', { name: 'Choose a new password' }).waitFor();
  assert.ok(await narrow.evaluate(() => document.documentElement.scrollWidth <= 320), 'the page scrolls sideways at 320 px');
  await shot(narrow, '05-js-320px');
  await context.close();
});

test('a used link says so and asks for a new one in place', async () => {
  assert.ok(usedLink, 'the first test did not finish');
  const { context, page, problems } = await newPage();
  await page.goto(usedLink);
  await page.getByRole('heading', { name: 'This link no longer works' }).waitFor();
  await shot(page, '06-js-expired');

  const before = (await mails()).length;
  await page.getByLabel('Email address').fill(demo);
  await page.getByRole('button', { name: 'Send a new link' }).click();
  await page.getByText('If an account exists for that address, we sent a new link.').waitFor();
  assert.equal(page.url(), usedLink, 'the page changed in place');
  await shot(page, '07-js-sent');
  await linkInNewMail(demo, before);
  assert.deepEqual(problems, []);
  await context.close();
});

test('without JavaScript: the forms post and each answer is a page', async () => {
  const link = await requestLink(demo);
  const { context, page } = await newPage({ javaScriptEnabled: false });
  await page.goto(link);
  await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
  assert.equal(await page.getByLabel('Show passwords').isVisible(), false, 'the script-only toggle shows without a script');
  await shot(page, '08-nojs-form');

  const good = 'quiet harbour 7 copper kettle';
  await page.getByLabel('New password', { exact: true }).fill(good);
  await page.getByLabel('Confirm new password').fill(`${good}!`);
  await page.getByRole('button', { name: 'Set new password' }).click();
  await page.locator('#confirm_password-error').getByText('The two passwords do not match.').waitFor();
  assert.equal(await page.getByLabel('Confirm new password').getAttribute('aria-invalid'), 'true');
  await shot(page, '09-nojs-mismatch');

  await page.getByLabel('New password', { exact: true }).fill(good);
  await page.getByLabel('Confirm new password').fill(good);
  await page.getByRole('button', { name: 'Set new password' }).click();
  await page.getByRole('heading', { name: 'Your password has been changed' }).waitFor();
  await shot(page, '10-nojs-done');
  await checkPassword(good);

  // The same link again: dead, and the new-link form works as a form.
  await page.goto(link);
  await page.getByRole('heading', { name: 'This link no longer works' }).waitFor();
  const before = (await mails()).length;
  await page.getByLabel('Email address').fill(demo);
  await page.getByRole('button', { name: 'Send a new link' }).click();
  await page.getByText('If an account exists for that address, we sent a new link.').waitFor();
  assert.match(page.url(), /\/auth\/request-reset-password$/);
  await shot(page, '11-nojs-sent');
  await linkInNewMail(demo, before);
  await context.close();
});
