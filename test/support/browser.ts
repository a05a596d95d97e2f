import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/**
 * Debian's headless Chromium through playwright-core (never a downloaded browser), for every
 * browser test: one launch, one place for the flags. Without Chromium a suite is skipped, unless
 * OVERUSAGE_TEST_REQUIRE_BROWSER=1, which makes a missing browser a failure.
 */
export const CHROMIUM = process.env.OVERUSAGE_TEST_CHROMIUM ?? '/usr/bin/chromium';
export const REQUIRE_BROWSER = process.env.OVERUSAGE_TEST_REQUIRE_BROWSER === '1';
export const SHOTS = path.resolve(import.meta.dirname, '..', '..', 'test-output', 'screenshots');

/** Skips the suite (from a `before`) when there is no Chromium and none is required. */
export function needChromium(ctx: Mocha.Context): void {
  if (fs.existsSync(CHROMIUM)) return;
  if (REQUIRE_BROWSER)
    throw new Error(`OVERUSAGE_TEST_REQUIRE_BROWSER=1 but there is no Chromium at ${CHROMIUM}`);
  ctx.skip();
}

export interface Browser {
  ctx: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(
  opts: { width?: number; height?: number; acceptDownloads?: boolean } = {},
): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'chromium-profile-'));
  fs.mkdirSync(SHOTS, { recursive: true });
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    ...(opts.acceptDownloads ? { acceptDownloads: true } : {}),
    viewport: { width: opts.width ?? 1100, height: opts.height ?? 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    ctx,
    async close() {
      await ctx.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * What a page does wrong in the browser: a script refused by the CSP, a failed asset, an uncaught
 * error. Collected in `problems`; a test ends by expecting none.
 */
export function watchPage(page: Page, problems: string[]): Page {
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource/.test(m.text()))
      problems.push(`${page.url()}: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
  });
  page.on('pageerror', (e) => problems.push(`${page.url()}: ${e.message}`));
  return page;
}

/**
 * How the page lays out at the current width, measured in the browser (a string to evaluate: the
 * tests compile without the DOM's types): how far the document is wider than the window, and the
 * smallest rendered height of a chart's or meter's text (an SVG scaled down by its viewBox shrinks
 * its text with it, so the computed font-size alone would not tell).
 */
export interface Layout {
  scrollWidth: number;
  clientWidth: number;
  /** the smallest rendered font size of SVG text and meter labels, in CSS px; null without any */
  smallestChartText: number | null;
  /** elements that stick out of their card (right edge beyond the card's), by selector-ish name */
  outsideCards: string[];
  /** pairs of meter marks that overlap */
  overlappingMarks: string[];
}

export async function measureLayout(page: Page): Promise<Layout> {
  return (await page.evaluate(`(() => {
    const de = document.documentElement;
    let smallest = null;
    for (const t of document.querySelectorAll('svg text')) {
      const svg = t.ownerSVGElement;
      const m = svg && svg.getScreenCTM();
      const px = parseFloat(getComputedStyle(t).fontSize) * (m ? Math.hypot(m.a, m.b) : 1);
      const box = t.getBoundingClientRect();
      if (box.width === 0 && box.height === 0) continue;
      smallest = smallest === null ? px : Math.min(smallest, px);
    }
    for (const s of document.querySelectorAll('.ou-marks span')) {
      const px = parseFloat(getComputedStyle(s).fontSize);
      smallest = smallest === null ? px : Math.min(smallest, px);
    }
    const name = (el) => el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
    const outside = [];
    for (const card of document.querySelectorAll('.card, .ou-card')) {
      const cr = card.getBoundingClientRect();
      for (const el of card.querySelectorAll('table, svg, .ou-marks span, pre, dl, form')) {
        const r = el.getBoundingClientRect();
        if (r.width === 0) continue;
        // an element inside a scrolling wrapper is clipped by it, not by the page
        const wrap = el.closest('.ou-table-wrap, .table-wrap');
        if (wrap && card.contains(wrap)) {
          const wr = wrap.getBoundingClientRect();
          if (wr.right > cr.right + 1 || wr.left < cr.left - 1) outside.push(name(wrap));
          continue;
        }
        if (r.right > cr.right + 1 || r.left < cr.left - 1) outside.push(name(el) + ' in ' + name(card));
      }
    }
    const overlapping = [];
    for (const marks of document.querySelectorAll('.ou-marks')) {
      const spans = [...marks.querySelectorAll('span')].map((s) => [s.textContent, s.getBoundingClientRect()]);
      for (let i = 0; i < spans.length; i++)
        for (let j = i + 1; j < spans.length; j++) {
          const a = spans[i][1], b = spans[j][1];
          if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) overlapping.push(spans[i][0] + '/' + spans[j][0]);
        }
    }
    return { scrollWidth: de.scrollWidth, clientWidth: de.clientWidth, smallestChartText: smallest, outsideCards: outside, overlappingMarks: overlapping };
  })()`)) as Layout;
}
