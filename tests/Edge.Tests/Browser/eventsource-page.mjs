// Opens a page in headless Chromium and prints, as one JSON line, what its native EventSource
// received once `expected` events have arrived (or fails after `timeoutMs`).
// usage: node eventsource-page.mjs <page-url> <expected> <timeoutMs>
import { chromium } from 'playwright-core';

const [url, expected, timeoutMs] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  page.on('console', message => console.log('console: ' + message.text()));
  page.on('requestfailed', request => console.log('request failed: ' + request.url() + ' ' + request.failure()?.errorText));
  await page.goto(url);
  console.log('PAGE-LOADED');
  await page.waitForFunction(n => window.received && window.received.length >= n, Number(expected),
                             { timeout: Number(timeoutMs), polling: 50 });
  const result = await page.evaluate(() => ({ received: window.received, opens: window.opens }));
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
