// Browser tests of calling the API from a page on another origin, in
// Debian's Chromium driven by playwright-core, against a passreset dev of
// its own on free ports whose ALLOWED_ORIGINS names one of two small static
// sites this test serves:
//
//   - the allowed site's page resets the demo account's password with a
//     code, by fetch, in one step and in two (verify, then complete with
//     the grant, and the completion repeated as after a timeout), and
//     reads a 429's Retry-After;
//   - the other site's page cannot: its fetch fails in the browser, as it
//     would against API Gateway, and sends nothing;
//   - an HTML form on the other site, posted by the browser with its Origin,
//     mails nothing either (the functions refuse it, docs/contract.md "browsers
//     on other origins").
//
// Run with `make test-browser` (or `node --test` on this file). Screenshots
// go to .dev/screenshots/cors-*.png (git-ignored).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';

import { openStack, root, run, shots } from './devstack.mjs';

const demo = 'demo@example.com';

let stack; // { api, ses, dynamodb, bin, browser, close }: devstack.mjs
let allowedSite; // { server, origin }: in ALLOWED_ORIGINS
let otherSite; // { server, origin }: not
let browser;

// page is the front end both sites serve: two forms that call the API with
// fetch, as an app would, and window.api for the test to call it directly.
// api is the dev API's URL.
function page(api) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A front end on another origin</title>
<style>body{font:16px system-ui,sans-serif;max-width:34rem;margin:2rem auto}label{display:block;margin:.5rem 0}
input{font:inherit;width:100%}output{display:block;margin:1rem 0;padding:.5rem;background:#eef}</style></head>
<body>
<h1>Reset your password</h1>
<p>This page is on <code id="origin"></code>; the API is on <code>${api}</code>.</p>
<form id="request"><label>Email <input name="email" type="email" value="${demo}"></label>
<button>Send me a code</button></form>
<form id="reset"><label>Code <input name="otp" inputmode="numeric"></label>
<label>New password <input name="new_password" type="password"></label>
<button>Reset password</button></form>
<output id="result" aria-live="polite"></output>
<script>
document.getElementById('origin').textContent = location.origin;
const API = ${JSON.stringify(api)};
// call posts a JSON body and returns what a script can see of the answer.
async function call(body) {
  const resp = await fetch(API + '/auth/otp', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: resp.status, body: await resp.json(), retryAfter: resp.headers.get('Retry-After') };
}
window.api = {
  createCode: (email) => call({ action: 'create', email }),
  validate: (email, otp, newPassword) => call({ action: 'validate', email, otp, new_password: newPassword }),
  verify: (email, otp) => call({ action: 'verify', email, otp }),
  complete: (grant, newPassword) => call({ action: 'complete', grant, new_password: newPassword }),
};
const result = document.getElementById('result');
function show(r) {
  result.textContent = r.status + ' ' + r.body.message + (r.retryAfter ? ' (try again in ' + r.retryAfter + ' s)' : '');
}
function showError(e) { result.textContent = 'Could not reach the API: ' + e; }
const email = () => document.querySelector('#request [name=email]').value;
document.getElementById('request').addEventListener('submit', (ev) => {
  ev.preventDefault();
  window.api.createCode(email()).then(show, showError);
});
document.getElementById('reset').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  window.api.validate(email(), f.otp.value, f.new_password.value).then(show, showError);
});
</script>
</body></html>`;
}

// forms is a page of plain HTML forms that post to the API, as any site
// can make a browser do: no script, no CORS, the browser's own Origin.
function forms(api) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Forms posting across sites</title></head>
<body>
<form id="link" method="post" action="${api}/auth/request-reset-password">
<input name="email" value="${demo}"><button>Mail a reset link</button></form>
<form id="code" method="post" action="${api}/generate-otp">
<input name="email" value="${demo}"><button>Mail a code</button></form>
</body></html>`;
}

// serveSite serves page at / and forms at /forms on a free port of
// 127.0.0.1, and resolves with the server and its origin. /forms-no-referrer
// is forms under Referrer-Policy: no-referrer, under which the browser
// posts them with Origin: null.
function serveSite() {
  const server = createServer((req, res) => {
    const body = req.url.startsWith('/forms') ? forms(stack.api) : req.url === '/' ? page(stack.api) : null;
    const headers = { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' };
    if (req.url === '/forms-no-referrer') headers['Referrer-Policy'] = 'no-referrer';
    res.writeHead(body ? 200 : 404, headers);
    res.end(body ?? 'not found');
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolvePromise({ server, origin: `http://127.0.0.1:${server.address().port}` }));
  });
}

before(async () => {
  allowedSite = await serveSite();
  otherSite = await serveSite();
  stack = await openStack('cors', {
    ALLOWED_ORIGINS: allowedSite.origin,
    // Several codes for one address within the test: no wait between
    // sends, and the fourth in an hour is the 429 to read.
    MIN_SEND_INTERVAL: '0s',
    MAX_SENDS_PER_HOUR: '3',
  });
  browser = stack.browser;
});

after(async () => {
  await stack?.close();
  for (const site of [allowedSite, otherSite]) site?.server.close();
});

// mails returns the SES emulator's store, oldest first.
async function mails() {
  const resp = await fetch(`${stack.ses}/store`);
  assert.equal(resp.status, 200, 'GET /store of the SES emulator');
  return (await resp.json()).emails ?? [];
}

// mailsTo counts the mails to email.
async function mailsTo(email) {
  return (await mails()).filter((m) => (m.destination?.to ?? []).includes(email)).length;
}

// codeInNewMail waits for a mail to email past the first `before` mails
// and returns the code in it.
async function codeInNewMail(email, before) {
  for (let i = 0; i < 100; i++) {
    const fresh = (await mails()).slice(before).filter((m) => (m.destination?.to ?? []).includes(email));
    if (fresh.length > 0) {
      const text = fresh.at(-1).body?.text ?? '';
      const code = text.match(/code is:\s*(\d{4,10})\s/);
      assert.ok(code, `no code in the mail: ${text}`);
      return code[1];
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

// newPage opens a page in a context of its own, recording the console.
async function newPage() {
  const context = await browser.newContext({ viewport: { width: 800, height: 720 } });
  const page = await context.newPage();
  const messages = [];
  page.on('console', (msg) => messages.push(msg.text()));
  const errors = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  return { context, page, messages, errors };
}

async function shot(page, name) {
  await page.screenshot({ path: join(shots, `cors-${name}.png`), fullPage: true });
}

test('a front end on an allowed origin resets a password with a code', async () => {
  const { context, page, errors } = await newPage();
  await page.goto(`${allowedSite.origin}/`);
  const result = page.locator('#result');

  const before = (await mails()).length;
  await page.getByRole('button', { name: 'Send me a code' }).click();
  await result.getByText('200 Successfully sent OTP.').waitFor();
  const code = await codeInNewMail(demo, before);

  const good = 'amber lantern 9 quiet meadow';
  await page.getByLabel('Code').fill(code);
  await page.getByLabel('New password').fill(good);
  await page.getByRole('button', { name: 'Reset password' }).click();
  await result.getByText('200 Successfully validated OTP and reset password.').waitFor();
  await shot(page, '01-allowed-origin-reset');
  await checkPassword(good);
  assert.deepEqual(errors, []);
  await context.close();
});

// The two-step reset, as a UI that asks for the new password only once the
// code has proved right calls it: verify answers with a grant, complete
// sets the password with it; the completion repeated (a client that timed
// out) gets the same success, another password with the used grant does not.
test('a front end on an allowed origin resets a password in two steps', async () => {
  const { context, page, errors } = await newPage();
  await page.goto(`${allowedSite.origin}/`);
  const before = (await mails()).length;
  const sent = await page.evaluate((email) => window.api.createCode(email), demo);
  assert.equal(sent.status, 200, JSON.stringify(sent));
  const code = await codeInNewMail(demo, before);
  const wrongCode = code.replace(/\d/g, (d) => String((Number(d) + 1) % 10));

  const refused = await page.evaluate(([email, otp]) => window.api.verify(email, otp), [demo, wrongCode]);
  assert.equal(refused.status, 400, JSON.stringify(refused));
  assert.deepEqual(refused.body, { success: false, message: 'Invalid or expired OTP.' });

  const verified = await page.evaluate(([email, otp]) => window.api.verify(email, otp), [demo, code]);
  assert.equal(verified.status, 200, JSON.stringify(verified));
  assert.equal(verified.body.message, 'Successfully verified OTP. Choose a new password.');
  assert.match(verified.body.grant, /^[0-9a-f]{64}$/);
  assert.equal(verified.body.expires_in, 300);
  const { grant } = verified.body;

  const good = 'copper willow 7 silent harbour';
  const done = await page.evaluate(([g, pw]) => window.api.complete(g, pw), [grant, good]);
  assert.equal(done.status, 200, JSON.stringify(done));
  assert.deepEqual(done.body, { success: true, message: 'Successfully validated OTP and reset password.' });
  const repeated = await page.evaluate(([g, pw]) => window.api.complete(g, pw), [grant, good]);
  assert.deepEqual(repeated, done, 'a repeated completion is not answered with its success');
  const replayed = await page.evaluate(([g, pw]) => window.api.complete(g, pw), [grant, 'another new passphrase 4 me']);
  assert.equal(replayed.status, 400, JSON.stringify(replayed));
  assert.equal(replayed.body.message, 'Invalid or expired OTP.');
  await checkPassword(good);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a script on an allowed origin reads a 429\'s Retry-After', async () => {
  const { context, page } = await newPage();
  await page.goto(`${allowedSite.origin}/`);
  // An address with no account is limited like one with: three sends an
  // hour, then 429 with Retry-After.
  const answers = await page.evaluate(async () => {
    const out = [];
    for (let i = 0; i < 4; i++) out.push(await window.api.createCode('nobody-cors@example.com'));
    return out;
  });
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 429], JSON.stringify(answers));
  const limited = answers[3];
  assert.equal(limited.body.message, 'Too many OTP requests. Please try again later.');
  assert.match(limited.retryAfter ?? '', /^[1-9][0-9]*$/, 'Retry-After is not readable from the script: not exposed');
  await page.getByLabel('Email').fill('nobody-cors@example.com');
  await page.getByRole('button', { name: 'Send me a code' }).click();
  await page.locator('#result').getByText(/^429 Too many OTP requests\. Please try again later\. \(try again in \d+ s\)$/).waitFor();
  await shot(page, '02-allowed-origin-429');
  await context.close();
});

test('a page on an origin that is not allowed cannot call the API', async () => {
  const { context, page, messages } = await newPage();
  await page.goto(`${otherSite.origin}/`);
  const before = await mailsTo(demo);
  const failure = await page.evaluate(() => window.api.createCode('demo@example.com').then(
    (r) => `answered ${r.status}`,
    (e) => `${e.name}: ${e.message}`,
  ));
  assert.equal(failure, 'TypeError: Failed to fetch');
  assert.ok(messages.some((m) => /blocked by CORS policy/.test(m)), `no CORS error in the console: ${messages.join('\n')}`);
  await page.getByRole('button', { name: 'Send me a code' }).click();
  await page.locator('#result').getByText('Could not reach the API: TypeError: Failed to fetch').waitFor();
  await shot(page, '03-other-origin-blocked');
  assert.equal(await mailsTo(demo), before, 'a mail went out for a request the browser blocked');
  await context.close();
});

// The link form is the one that would mail without the functions' origin
// rule: a form posted to POST /auth/request-reset-password is answered
// (page.go). POST /generate-otp reads JSON only, so a form there mails
// nothing either way; it is here because it is the obvious thing to try.
test('a form on another site posts, and no mail goes out', async () => {
  const { context, page } = await newPage();
  for (const [site, form, path, origin] of [
    ['/forms', 'link', '/auth/request-reset-password', otherSite.origin],
    ['/forms', 'code', '/generate-otp', otherSite.origin],
    ['/forms-no-referrer', 'link', '/auth/request-reset-password', 'null'],
  ]) {
    await page.goto(`${otherSite.origin}${site}`);
    const before = await mailsTo(demo);
    const [request] = await Promise.all([
      page.waitForRequest((r) => r.url() === `${stack.api}${path}`),
      page.locator(`#${form} button`).click(),
    ]);
    const response = await request.response();
    const sent = await request.allHeaders();
    assert.equal(sent.origin, origin, 'the browser did not send the Origin expected');
    assert.equal(sent['sec-fetch-site'], 'cross-site');
    assert.equal(response.status(), 403, `${path}: ${await response.text()}`);
    await page.waitForLoadState();
    assert.match(await page.textContent('body'), /Origin not allowed\./);
    await shot(page, `04-other-site${site.slice('/forms'.length)}-form-${form}`);
    // The answer comes after the flow would have mailed; give the emulator
    // a moment anyway.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await mailsTo(demo), before, `a form posted from ${otherSite.origin} to ${path} had a mail sent`);
  }
  await context.close();
});
