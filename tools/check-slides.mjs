// check-slides.mjs MODULES_DIR BROWSER DECK.html... - opens each deck that
// `make slides` rendered in headless Chromium and fails when any slide's
// content is larger than its 1280x720 slide, naming the deck and the slide.
//
// A slide overflows when something on it reaches past the slide's edges
// (Marp clips it: a table cut mid-row, a caption under a code block), or
// when a box that scrolls (a code block, a wide table) holds more than it
// shows. A presenter cannot scroll a slide, so either is content lost.
//
// MODULES_DIR is where playwright-core was installed (under build/); the
// browser is driven through it, never downloaded by it.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [modules, browserPath, ...decks] = process.argv.slice(2);
if (!modules || !browserPath || decks.length === 0) {
    console.error('usage: check-slides.mjs MODULES_DIR BROWSER DECK.html...');
    process.exit(2);
}
const require = createRequire(join(resolve(modules), 'package.json'));
const { chromium } = require('playwright-core');

// Runs in the page: one entry per slide that overflows, with the reason.
function measure() {
    const slack = 1; // sub-pixel rounding is not overflow
    const found = [];
    const sections = document.querySelectorAll('svg[data-marpit-svg] > foreignObject > section');
    sections.forEach((section, index) => {
        const box = section.getBoundingClientRect();
        const scale = box.width / section.offsetWidth || 1;
        const reasons = [];
        const clips = (el) => {
            const style = getComputedStyle(el);
            return style.overflowX !== 'visible' || style.overflowY !== 'visible';
        };
        const describe = (el) => {
            const text = (el.textContent || '').trim().replace(/\s+/g, ' ');
            return el.tagName.toLowerCase() + (text ? ` "${text.slice(0, 40)}"` : '');
        };
        // Walk the slide; inside a box that clips, only the box counts.
        const walk = (el, clipped) => {
            for (const child of el.children) {
                const style = getComputedStyle(child);
                if (style.display === 'none' || style.position === 'absolute' ||
                    style.position === 'fixed') continue;
                const r = child.getBoundingClientRect();
                if (!clipped && r.width > 0 && r.height > 0) {
                    const edges = { top: box.top - r.top, bottom: r.bottom - box.bottom,
                                    left: box.left - r.left, right: r.right - box.right };
                    for (const [edge, px] of Object.entries(edges)) {
                        if (px / scale > slack)
                            reasons.push(`${describe(child)} reaches ${Math.round(px / scale)}px past its ${edge} edge`);
                    }
                }
                if (clips(child) && child.clientWidth > 0) {
                    const wide = child.scrollWidth - child.clientWidth;
                    const tall = child.scrollHeight - child.clientHeight;
                    if (wide > slack || tall > slack)
                        reasons.push(`${describe(child)} hides ${Math.max(wide, tall)}px of its content`);
                }
                // Marp shrinks a wide code block to the slide's width by
                // drawing it in an <svg> of its own (in a shadow root): the
                // block's box is what shows; its insides are measured
                // unscaled, so they are not walked.
                if (!child.shadowRoot && !child.hasAttribute('data-auto-scaling') &&
                    child.tagName.toLowerCase() !== 'svg')
                    walk(child, clipped || clips(child));
            }
        };
        walk(section, false);
        if (reasons.length) found.push({ slide: index + 1, reason: reasons[0], more: reasons.length - 1 });
    });
    return { slides: sections.length, found };
}

const profile = mkdtempSync(join(tmpdir(), 'nio-slides-'));
let failed = 0;
let browser;
try {
    // A fresh profile each run, and nothing talked to but the files.
    browser = await chromium.launchPersistentContext(profile, {
        executablePath: browserPath,
        headless: true,
        viewport: { width: 1280, height: 720 },
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
               '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    for (const deck of decks) {
        const name = basename(deck);
        const page = await browser.newPage();
        await page.goto(pathToFileURL(resolve(deck)).href, { waitUntil: 'load' });
        await page.evaluate(() => document.fonts.ready);
        // Marp fits code blocks to the slide's width from a ResizeObserver,
        // after load: measure until two measures a few frames apart agree.
        const frames = () => page.evaluate(() => new Promise((done) =>
            requestAnimationFrame(() => requestAnimationFrame(() => done()))));
        let last = '', result;
        for (let tries = 0; tries < 50; tries++) {
            await frames();
            result = await page.evaluate(measure);
            const now = JSON.stringify(result);
            if (now === last) break;
            last = now;
        }
        await page.close();
        const { slides, found } = result;
        if (slides === 0) {
            console.error(`check-slides: ${name}: no slides found`);
            failed++;
            continue;
        }
        for (const f of found) {
            console.error(`check-slides: ${name} slide ${f.slide} overflows: ${f.reason}` +
                          (f.more ? ` (and ${f.more} more)` : ''));
        }
        if (found.length) failed++;
        else console.log(`${name}: ${slides} slides fit 1280x720`);
    }
} finally {
    if (browser) await browser.close();
    rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
