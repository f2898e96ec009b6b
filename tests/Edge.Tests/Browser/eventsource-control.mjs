// Opens a page in headless Chromium (same flags as eventsource-page.mjs, certificate errors
// ignored so a test's self-signed certificate is accepted) and then answers commands, one per
// stdin line, with one JSON line each on stdout:
//   eval <expression>        the value of a JavaScript expression evaluated in the page
//   click <selector>         clicks the element (answers {"value": null})
//   fill <selector>\t<text>  types the text into the input
//   screenshot <path>        writes a PNG of the whole page
//   quit                     closes the browser
// Lines that do not start with '{' are diagnostics (console messages, failed requests).
// The process ends by itself after `timeoutMs`, or when stdin closes, so it never outlives its test.
// usage: node eventsource-control.mjs <page-url> <timeoutMs>
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';

const [url, timeoutMs] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const deadline = setTimeout(async () => {
  console.log('TIMEOUT after ' + timeoutMs + ' ms');
  await browser.close();
  process.exit(2);
}, Number(timeoutMs));
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  page.on('console', message => console.log('console: ' + message.text()));
  page.on('requestfailed', request => console.log('request failed: ' + request.url() + ' ' + request.failure()?.errorText));
  await page.goto(url);
  console.log(JSON.stringify({ loaded: true }));
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'quit') {
      break;
    }
    const [command, ...rest] = line.split(' ');
    const argument = rest.join(' ');
    if (['eval', 'click', 'fill', 'screenshot'].includes(command)) {
      try {
        if (command === 'eval') {
          console.log(JSON.stringify({ value: await page.evaluate(argument) }));
        } else {
          if (command === 'click') await page.click(argument);
          if (command === 'fill') await page.fill(...argument.split('\t'));
          if (command === 'screenshot') await page.screenshot({ path: argument, fullPage: true });
          console.log(JSON.stringify({ value: null }));
        }
      } catch (error) {
        console.log(JSON.stringify({ error: String(error) }));
      }
    } else {
      console.log(JSON.stringify({ error: 'unknown command: ' + line }));
    }
  }
} finally {
  clearTimeout(deadline);
  await browser.close();
}
// stdin stays referenced after the loop; end here instead of waiting for it to close.
process.exit(0);
