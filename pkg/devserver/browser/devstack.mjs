// The dev stack the browser tests run against, shared by every
// *.test.mjs here: the passreset CLI built once into a temporary directory,
// a `passreset dev` of its own on free ports, and Debian's Chromium driven
// by playwright-core (browser downloads are impossible on these machines).
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

export const run = promisify(execFile);
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const shots = join(root, '.dev', 'screenshots');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

// startDev runs `bin dev` on free ports with env added to this process's,
// and resolves with the process and the URLs its banner prints ("API:",
// "Mail viewer:", "DynamoDB:").
function startDev(bin, work, env) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, ['dev', '--port', '0', '--ses-port', '0', '--dynamodb-port', '0', '--state-dir', join(work, 'state')], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const urls = {};
    const timer = setTimeout(() => reject(new Error(`passreset dev did not start in 120 s:\n${out}`)), 120_000);
    const read = (chunk) => {
      out += chunk;
      for (const [key, label] of [['api', 'API:'], ['ses', 'Mail viewer:'], ['dynamodb', 'DynamoDB:']]) {
        const m = out.match(new RegExp(`${label}\\s+(http://\\S+)`));
        if (m) urls[key] = m[1];
      }
      if (urls.api && urls.ses && urls.dynamodb) {
        clearTimeout(timer);
        resolvePromise({ child, urls });
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`passreset dev exited with ${code}:\n${out}`));
    });
  });
}

// openStack builds the CLI, starts its dev stack with env and launches
// Chromium. It resolves with { api, ses, dynamodb, bin, browser, close }.
export async function openStack(name, env) {
  assert.ok(existsSync(chromiumPath), `${chromiumPath} not found: apt-get update && apt-get install -y chromium (or set CHROMIUM)`);
  await mkdir(shots, { recursive: true });
  const work = await mkdtemp(join(tmpdir(), `passreset-${name}-`));
  const stack = { bin: join(work, 'passreset') };
  let dev;
  stack.close = async () => {
    await stack.browser?.close();
    if (dev && dev.exitCode === null) {
      const exited = new Promise((r) => dev.once('exit', r));
      dev.kill('SIGINT'); // passreset dev stops its emulators on an interrupt
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (dev.exitCode === null) dev.kill('SIGKILL');
    }
    await rm(work, { recursive: true, force: true });
  };
  try {
    await run('go', ['build', '-o', stack.bin, './cmd/passreset'], { cwd: root });
    const started = await startDev(stack.bin, work, env);
    dev = started.child;
    Object.assign(stack, started.urls);
    // Playwright gives each launch a fresh, temporary user data directory.
    stack.browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  } catch (err) {
    await stack.close();
    throw err;
  }
  return stack;
}
