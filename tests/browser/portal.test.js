// Browser tests over the real embedded suite: Playwright drives Debian's Chromium; axe-core checks
// every page visited for serious or critical accessibility violations.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';

const root = resolve(import.meta.dirname, '../..');
let suite;
let browser;
let base;
let dataDir;

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
    server.on('error', fail);
  });
}

// The day the suite runs on: ALONGSIDE_TEST_TODAY (YYYY-MM-DD) moves it, as it moves the Rust
// tests; otherwise today in England, the day the services count in.
const testDay = process.env.ALONGSIDE_TEST_TODAY?.trim() || '';
function todayInEngland() {
  if (testDay) return testDay;
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(new Date());
}

function daysFromToday(days) {
  const day = new Date(`${todayInEngland()}T12:00:00Z`);
  day.setUTCDate(day.getUTCDate() + days);
  return day.toISOString().slice(0, 10);
}

before(async () => {
  const port = await freePort();
  dataDir = mkdtempSync(join(tmpdir(), 'alongside-browser-'));
  const args = ['--port', String(port), '--data-dir', dataDir];
  if (testDay) args.push('--today', testDay);
  suite = spawn(join(root, 'target/debug/alongside'), args, { cwd: root });
  base = `http://127.0.0.1:${port}`;
  await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('the suite did not start within 120 s')), 120_000);
    let output = '';
    suite.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Alongside is running')) {
        clearTimeout(timer);
        ok();
      }
    });
    suite.on('exit', (code) => fail(new Error(`the suite exited with ${code}: ${output}`)));
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
});

after(async () => {
  await browser?.close();
  suite?.kill('SIGTERM');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function expectAccessible(page, label) {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`),
    [],
    `axe-core on ${label}`,
  );
}

async function signIn(page, email) {
  await page.goto(`${base}/`);
  assert.match(page.url(), /\/sign-in$/, 'signed-out visitors are sent to sign in');
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill('alongside-demo');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/`);
}

test('an engagement lead signs in, registers a partner and sees them listed', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/sign-in`);
  await expectAccessible(page, 'sign-in');
  const stylesheet = await page.request.get(`${base}/nhsuk/nhsuk-frontend.min.css`);
  assert.equal(stylesheet.status(), 200, 'the NHS.UK design system is served');

  await page.getByLabel('Email address').fill('lead@rza.demo.test');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await assert.doesNotReject(page.getByText('Email address or password is not right').first().waitFor());

  await signIn(page, 'lead@rza.demo.test');
  await expectAccessible(page, 'home');

  await page.getByRole('link', { name: 'People Bank' }).first().click();
  await assert.doesNotReject(page.getByRole('cell', { name: 'Asha Patel' }).waitFor(), 'demo partners listed');
  await expectAccessible(page, 'People Bank');

  await page.getByRole('link', { name: 'Register a partner' }).click();
  await page.getByRole('button', { name: 'Register partner' }).click();
  await assert.doesNotReject(page.getByText('There is a problem').waitFor());
  assert.equal(await page.locator('.nhsuk-error-summary__list li').count(), 4, 'every missing field is named');
  await expectAccessible(page, 'registration with errors');

  await page.getByLabel('First name').fill('Grace');
  await page.getByLabel('Last name').fill('Hopper');
  await page.getByLabel('Email address').fill('grace.hopper@example.org');
  await page.getByLabel('Locality').fill('East');
  await page.getByRole('button', { name: 'Register partner' }).click();
  await assert.doesNotReject(page.getByText('Partner registered.').waitFor());
  await assert.doesNotReject(page.getByRole('cell', { name: 'Grace Hopper' }).waitFor());

  const csv = await page.request.get(`${base}/partners.csv?search=Hopper`);
  assert.equal(csv.status(), 200);
  assert.match(await csv.text(), /Grace,Hopper,grace\.hopper@example\.org/);
  await context.close();
});

test('opportunities, claims and the Friends and Family Test pages are accessible', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'lead@rza.demo.test');
  await page.goto(`${base}/opportunities`);
  await expectAccessible(page, 'opportunities');
  await page.getByRole('link', { name: 'Rheumatology MDT' }).click();
  await assert.doesNotReject(page.getByText(/Attended, \d+ minutes/).first().waitFor());
  await expectAccessible(page, 'an opportunity');
  await page.goto(`${base}/claims`);
  await assert.doesNotReject(page.getByText('£75.00').first().waitFor(), 'half-day claims priced at £75');
  await expectAccessible(page, 'claims');
  await page.goto(`${base}/feedback`);
  await assert.doesNotReject(page.getByRole('columnheader', { name: '% positive' }).waitFor());
  await expectAccessible(page, 'Friends and Family Test');
  await context.close();
});

test('a lead assigns a partner and records attendance, and the claim follows', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'lead@rza.demo.test');
  await page.goto(`${base}/opportunities`);
  await page.getByRole('link', { name: 'Pain pathway redesign workshop' }).click();
  await page.getByLabel('Partner').selectOption({ label: 'Ceri Williams (South)' });
  await page.getByRole('button', { name: 'Assign partner' }).click();
  await assert.doesNotReject(page.getByText('Partner assigned.').waitFor());
  await page.getByLabel('Minutes attended').fill('420');
  await page.getByRole('button', { name: 'Confirm attendance' }).click();
  await assert.doesNotReject(page.getByText('must be at most 360').first().waitFor(), 'minutes beyond the session and its margin are refused by field');
  const link = await page.locator('.nhsuk-error-summary__list a').first().getAttribute('href');
  assert.match(link, /^#minutes-asg_/, 'the summary links to the row\'s own input');
  assert.equal(await page.locator(link).count(), 1, 'and that input is on the page');
  assert.match(await page.locator('.nhsuk-error-summary__list a').first().innerText(), /^Minutes: must be at most 360/);
  await expectAccessible(page, 'attendance with errors');
  await page.getByLabel('Minutes attended').fill('360');
  await page.getByRole('button', { name: 'Confirm attendance' }).click();
  await assert.doesNotReject(page.getByText('Attendance recorded.').waitFor());
  await assert.doesNotReject(page.getByText('Attended, 360 minutes').waitFor());
  await context.close();

  const finance = await browser.newContext();
  const financePage = await finance.newPage();
  await signIn(financePage, 'finance@rza.demo.test');
  await financePage.goto(`${base}/claims`);
  await assert.doesNotReject(financePage.getByRole('row', { name: /Ceri Williams.*Day, £150\.00/ }).waitFor({ timeout: 15_000 }), 'a claim for the new attendance, priced as a day');
  await finance.close();
});

test('another trust sees none of this trust\'s partners', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'lead@rzb.demo.test');
  await page.goto(`${base}/partners?search=Hopper`);
  await assert.doesNotReject(page.getByText('No partners match').waitFor());
  await context.close();
});

test('a lead moves a partner along the pipeline, then erases them', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'lead@rza.demo.test');
  await page.goto(`${base}/partners/new`);
  await page.getByLabel('First name').fill('Ada');
  await page.getByLabel('Last name').fill('Lovelace');
  await page.getByLabel('Email address').fill('ada.lovelace@example.org');
  await page.getByLabel('Locality').fill('West');
  await page.getByRole('button', { name: 'Register partner' }).click();
  await page.getByRole('link', { name: 'Ada Lovelace' }).click();
  await assert.doesNotReject(page.getByRole('heading', { name: 'Ada Lovelace' }).waitFor());
  await expectAccessible(page, 'partner page');

  // No reason, no move: the error names the field.
  await page.getByLabel('Move to').selectOption('resting');
  await page.getByRole('button', { name: 'Change status' }).click();
  await assert.doesNotReject(page.getByText('There is a problem').waitFor());
  await assert.doesNotReject(page.locator('#reason-error').getByText('say why').waitFor());
  await expectAccessible(page, 'status change with errors');
  await page.getByLabel('Why', { exact: true }).fill('Taking a break over the winter');
  await page.getByRole('button', { name: 'Change status' }).click();
  await assert.doesNotReject(page.getByText('Status changed to Resting.').waitFor());
  await assert.doesNotReject(page.getByRole('cell', { name: 'Taking a break over the winter' }).waitFor());

  // Erasure asks for a reason and a confirmation.
  await page.getByRole('button', { name: 'Erase partner' }).click();
  await assert.doesNotReject(page.locator('#confirm-error').waitFor());
  await expectAccessible(page, 'erasure with errors');
  await page.getByLabel('Why are you erasing this partner?').fill('Asked to be forgotten');
  await page.getByLabel('I understand that erasure cannot be undone').check();
  await page.getByRole('button', { name: 'Erase partner' }).click();
  await assert.doesNotReject(page.getByText('personal data has been erased').waitFor());
  assert.equal(await page.getByRole('link', { name: 'Ada Lovelace' }).count(), 0, 'gone from the list');

  await page.goto(`${base}/partners?status=erased`);
  await page.getByRole('link', { name: 'Erased partner' }).first().click();
  await assert.doesNotReject(page.getByRole('heading', { name: 'Erased partner' }).waitFor());
  const html = await page.content();
  assert.doesNotMatch(html, /Lovelace|ada\.lovelace|winter/, 'no name, address or reason left');
  await expectAccessible(page, 'erased partner');
  await context.close();
});

test('a partner reads and downloads the data held about them, and no one else\'s', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'partner@rza.demo.test');
  await page.getByRole('link', { name: 'Your data' }).first().click();
  await assert.doesNotReject(page.getByRole('heading', { name: 'The data we hold' }).waitFor());
  await assert.doesNotReject(page.getByText('asha.patel@rza.partners.demo.test').waitFor());
  await assert.doesNotReject(page.getByText(/^Governance partner \(MDT or committee seat\): can take part/).waitFor(), 'roles are part of their data');
  await expectAccessible(page, 'your data');

  const id = page.url().match(/\/partners\/([^/]+)\/data$/)[1];
  const download = await page.request.get(`${base}/api/v1/partners/${id}/export`);
  assert.equal(download.status(), 200);
  assert.match(download.headers()['content-disposition'], /attachment; filename="alongside-ptn_/);
  const data = await download.json();
  assert.equal(data.partner.email, 'asha.patel@rza.partners.demo.test');
  assert.ok(data.access_log.some((a) => a.action === 'export'), 'the page view itself is on the record');

  const other = await page.request.get(`${base}/api/v1/partners/ptn_0000000000000000000000000000dead/export`);
  assert.equal(other.status(), 404);
  const list = await page.request.get(`${base}/partners`);
  assert.equal(list.status(), 403, 'a partner may not browse the People Bank');
  await context.close();
});

test('a lead gives a role, records training, and sees what expires', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'lead@rza.demo.test');
  await page.goto(`${base}/partners?search=Patel`);
  await page.getByRole('link', { name: 'Asha Patel' }).click();
  await assert.doesNotReject(page.getByRole('cell', { name: /^Yes, until \d{4}-\d{2}-\d{2}$/ }).waitFor(), 'a governance partner in date');
  await expectAccessible(page, 'partner with roles');

  await page.getByLabel('Give a role').selectOption('trainer');
  await page.getByRole('button', { name: 'Give role' }).click();
  await assert.doesNotReject(page.getByText('Roles updated.').waitFor());
  await assert.doesNotReject(page.getByRole('cell', { name: 'No: safeguarding (none on record)' }).waitFor());

  // A completion date in the future is refused, by field; then a real one makes them eligible.
  await page.getByLabel('Training or check').selectOption('safeguarding');
  await page.getByLabel('Completed on').fill(daysFromToday(1));
  await page.getByRole('button', { name: 'Record' }).click();
  await assert.doesNotReject(page.locator('#completed_on-error').getByText('must be today or in the past').waitFor());
  await expectAccessible(page, 'training with errors');
  await page.getByLabel('Completed on').fill(todayInEngland());
  await page.getByRole('button', { name: 'Record' }).click();
  await assert.doesNotReject(page.getByText('Training recorded.').waitFor());
  assert.equal(await page.getByRole('cell', { name: /^No:/ }).count(), 0, 'every role in date now');

  await page.goto(`${base}/partners`);
  await page.getByRole('link', { name: 'Training and checks expiring in the next 60 days' }).click();
  await assert.doesNotReject(page.getByRole('link', { name: 'Asha Patel' }).waitFor());
  await assert.doesNotReject(page.getByRole('cell', { name: 'Confidentiality and data security' }).first().waitFor());
  await expectAccessible(page, 'training expiring');
  const csv = await page.request.get(`${base}/training/expiring.csv?within_days=60`);
  assert.equal(csv.status(), 200);
  assert.match(await csv.text(), /Asha,Patel,Confidentiality and data security,\d{4}-\d{2}-\d{2}/);
  await context.close();
});

test('a partner fills in their profile and bank details, which are shown only masked', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'partner@rza.demo.test');
  await page.getByRole('link', { name: 'Your profile' }).first().click();
  await assert.doesNotReject(page.getByRole('heading', { name: 'Your profile' }).waitFor());
  await expectAccessible(page, 'your profile');

  await page.getByLabel('How should we contact you?').selectOption('text');
  await page.getByLabel('Large print').check();
  await page.getByLabel('Anything else that would help you take part?').fill('Step-free access and papers a week ahead');
  await page.getByLabel('Postcode').fill('LS1');
  await page.getByLabel('Lived experience').fill('COPD\nCarer for my mother');
  await page.getByLabel('Weekday evenings').check();
  await page.getByLabel('Paid a reduced amount').check();
  await page.getByLabel('For a reduced amount: the most for each activity, in pounds').fill('lots');
  await page.getByRole('button', { name: 'Save profile' }).click();
  await assert.doesNotReject(page.locator('#reduced_amount-error').getByText('enter the amount in pounds').waitFor());
  assert.ok(await page.getByLabel('Large print').isChecked(), 'ticks are kept');
  assert.equal(await page.getByLabel('Lived experience').inputValue(), 'COPD\nCarer for my mother', 'what was typed is kept');
  assert.ok(await page.getByLabel('Weekday evenings').isChecked());
  await expectAccessible(page, 'profile with errors');

  await page.getByLabel('For a reduced amount: the most for each activity, in pounds').fill('37.50');
  await page.getByLabel('I receive benefits').check();
  await page.getByRole('button', { name: 'Save profile' }).click();
  await assert.doesNotReject(page.locator('#postcode-error').getByText('enter a UK postcode').waitFor());
  await page.getByLabel('Postcode').fill('ls1 4ap');
  await page.getByRole('button', { name: 'Save profile' }).click();
  await assert.doesNotReject(page.getByText('Profile saved.').waitFor());
  await assert.doesNotReject(page.getByText('Paid a reduced amount: £37.50 for each activity').waitFor());

  await page.getByLabel('Name on the account').fill('A PATEL');
  await page.getByLabel('Sort code').fill('30-99-50');
  await page.getByLabel('Account number').fill('1234');
  await page.getByRole('button', { name: 'Save bank details' }).click();
  await assert.doesNotReject(page.locator('#account_number-error').waitFor());
  assert.equal(await page.getByLabel('Account number').inputValue(), '', 'account numbers are never echoed back');
  await page.getByLabel('Sort code').fill('30-99-50');
  await page.getByLabel('Account number').fill('12345678');
  await page.getByRole('button', { name: 'Save bank details' }).click();
  await assert.doesNotReject(page.getByText('Bank details saved.').waitFor());
  await assert.doesNotReject(page.getByText('Sort code ••-••-50, account ••••5678').waitFor());
  assert.doesNotMatch(await page.content(), /12345678|309950/, 'the full details are never on the page');

  // Consent per purpose: given, then withdrawn; both are kept.
  await page.getByRole('button', { name: /^Agree\W+Being offered to other trusts/ }).click();
  await assert.doesNotReject(page.getByText('Your choice is recorded.').waitFor());
  await page.getByRole('button', { name: /^Withdraw\W+Being offered to other trusts/ }).click();
  await assert.doesNotReject(page.getByRole('cell', { name: /^No, withdrawn \d{4}-\d{2}-\d{2}$/ }).waitFor());
  await expectAccessible(page, 'profile with consents');

  // The data page and the download carry the profile, masked.
  await page.getByRole('link', { name: 'Your data' }).first().click();
  await assert.doesNotReject(page.getByText('Step-free access and papers a week ahead').waitFor());
  const id = page.url().match(/\/partners\/([^/]+)\/data$/)[1];
  const data = await (await page.request.get(`${base}/api/v1/partners/${id}/export`)).json();
  assert.deepEqual(data.profile.lived_experience, ['COPD', 'Carer for my mother']);
  assert.equal(data.profile.payment.bank_details_masked, 'Sort code ••-••-50, account ••••5678');
  assert.doesNotMatch(JSON.stringify(data), /12345678/);
  assert.deepEqual(data.consents.map((c) => [c.purpose, c.granted]), [['sharing', false], ['sharing', true]]);
  const reveal = await page.request.get(`${base}/api/v1/partners/${id}/bank-details`);
  assert.equal(reveal.status(), 403, 'only finance see the details in full');
  await context.close();
});

test('someone expresses interest, a lead takes them to active and invites them, and they sign in', async () => {
  const visitor = await browser.newContext();
  let page = await visitor.newPage();
  await page.goto(`${base}/sign-in`);
  await page.getByRole('link', { name: 'Tell us you are interested' }).click();
  await page.getByRole('link', { name: 'Riverside MSK Partnership (demo)' }).click();
  await assert.doesNotReject(page.getByRole('heading', { name: 'Tell us you are interested' }).waitFor());
  await expectAccessible(page, 'expression of interest');

  await page.getByLabel('Email address').fill('not an address');
  await page.getByRole('button', { name: 'Send' }).click();
  await assert.doesNotReject(page.getByText('There is a problem').waitFor());
  await assert.doesNotReject(page.locator('#consent_to_contact-error').waitFor(), 'consent to contact is asked for');
  await assert.doesNotReject(page.locator('#email-error').waitFor());
  await expectAccessible(page, 'expression of interest with errors');

  await page.getByLabel('First name').fill('Mary');
  await page.getByLabel('Last name').fill('Seacole');
  await page.getByLabel('Email address').fill('mary.seacole@example.org');
  await page.getByLabel('Where you live').fill('South');
  await page.getByLabel('What would you like to be involved in? (optional)').fill('How the district nurses visit');
  await page.getByLabel('You may contact me about involvement').check();
  await page.getByRole('button', { name: 'Send' }).click();
  await assert.doesNotReject(page.getByRole('heading', { name: 'Thank you' }).waitFor());
  await expectAccessible(page, 'thanks');
  await visitor.close();

  const lead = await browser.newContext();
  page = await lead.newPage();
  await signIn(page, 'lead@rza.demo.test');
  await page.goto(`${base}/partners?status=interest`);
  await page.getByRole('link', { name: 'Mary Seacole' }).click();
  await assert.doesNotReject(page.getByRole('cell', { name: 'Expressed interest online: How the district nurses visit' }).waitFor());
  for (const [status, why] of [
    ['application', 'Sent the application form'],
    ['conversation', 'Application received'],
    ['checks', 'Good conversation on the phone'],
    ['induction', 'References back'],
    ['active', 'Induction done'],
  ]) {
    await page.getByLabel('Move to').selectOption(status);
    await page.getByLabel('Why', { exact: true }).fill(why);
    await page.getByRole('button', { name: 'Change status' }).click();
    await assert.doesNotReject(page.getByRole('cell', { name: why }).waitFor());
  }
  await assert.doesNotReject(page.getByText('Status changed to Active.').waitFor());
  await page.getByRole('button', { name: 'Create an invitation link' }).click();
  await assert.doesNotReject(page.getByRole('heading', { name: 'Invitation for Mary Seacole' }).waitFor());
  await expectAccessible(page, 'invitation');
  const link = await page.getByLabel('Invitation link').inputValue();
  assert.match(link, /\/invite\/[A-Za-z0-9_-]{43}$/);
  await lead.close();

  const partner = await browser.newContext();
  page = await partner.newPage();
  await page.goto(link);
  await assert.doesNotReject(page.getByRole('heading', { name: 'Choose your password' }).waitFor());
  await expectAccessible(page, 'choose a password');
  await page.getByLabel('Password', { exact: true }).fill('short');
  await page.getByLabel('Type the same password again').fill('short');
  await page.getByRole('button', { name: 'Set password and sign in' }).click();
  await assert.doesNotReject(page.locator('#password-error').getByText('at least 12 characters').waitFor());
  await page.getByLabel('Password', { exact: true }).fill('lantern meadow copper');
  await page.getByLabel('Type the same password again').fill('lantern meadow copper');
  await page.getByRole('button', { name: 'Set password and sign in' }).click();
  await assert.doesNotReject(page.getByRole('heading', { name: 'Your profile' }).waitFor());
  await page.getByRole('link', { name: 'Your data' }).first().click();
  await assert.doesNotReject(page.getByText('mary.seacole@example.org').first().waitFor());
  // Their sign-in is part of what is held: this one session.
  await assert.doesNotReject(page.getByText(/mary\.seacole@example\.org \(.+\), since .+; 1 session signed in now/).waitFor());
  await partner.close();

  // The link worked once.
  const again = await browser.newContext();
  page = await again.newPage();
  const reused = await page.goto(link);
  assert.equal(reused.status(), 409);
  await again.close();
});

test('a lead names a supporter, whose notes only they and the leads can read', async () => {
  const lead = await browser.newContext();
  let page = await lead.newPage();
  await signIn(page, 'lead@rza.demo.test');
  await page.goto(`${base}/partners?search=Patel`);
  await page.getByRole('link', { name: 'Asha Patel' }).click();
  const partnerUrl = page.url();
  await page.getByLabel('Supporter', { exact: true }).selectOption({ label: 'Clinical Staff (RZA)' });
  await page.getByRole('button', { name: 'Name supporter' }).click();
  await assert.doesNotReject(page.getByText('Supporter named.').waitFor());
  await page.getByRole('button', { name: 'Add note' }).click();
  await assert.doesNotReject(page.locator('#note_body-error').getByText('write the note').waitFor());
  await expectAccessible(page, 'support with errors');
  await lead.close();

  const supporter = await browser.newContext();
  page = await supporter.newPage();
  await signIn(page, 'staff@rza.demo.test');
  await page.goto(partnerUrl);
  await page.getByLabel('Kind of note').selectOption('debrief');
  await page.getByLabel('Note', { exact: true }).fill('Found the first MDT hard going; we talked it through');
  await page.getByRole('button', { name: 'Add note' }).click();
  await assert.doesNotReject(page.getByText('Note added.').waitFor());
  await assert.doesNotReject(page.getByRole('cell', { name: 'Found the first MDT hard going; we talked it through' }).waitFor());
  await expectAccessible(page, 'support notes');
  await supporter.close();

  // The partner's own page says notes are held but does not show them; nor does another trust.
  const partner = await browser.newContext();
  page = await partner.newPage();
  await signIn(page, 'partner@rza.demo.test');
  await page.getByRole('link', { name: 'Your data' }).first().click();
  await assert.doesNotReject(page.getByRole('heading', { name: 'The data we hold' }).waitFor());
  await assert.doesNotReject(page.getByText('1 debrief or wellbeing note is held by your supporter').waitFor());
  assert.doesNotMatch(await page.content(), /hard going/);
  await partner.close();
});

test('a partner answers equality monitoring, which analysts see only in suppressed totals', async () => {
  const context = await browser.newContext();
  let page = await context.newPage();
  await signIn(page, 'partner@rza.demo.test');
  await page.goto(`${base}/my-profile`);
  await page.getByRole('link', { name: 'Answer or change them' }).click();
  await page.getByRole('button', { name: 'Agree and continue' }).click();
  await page.getByRole('group', { name: 'Age' }).getByLabel('35 to 44').check();
  await page.getByRole('group', { name: 'Sex' }).getByLabel('Female').check();
  await page.getByRole('group', { name: 'Ethnic group' }).getByLabel('Prefer not to say').check();
  await page.getByRole('button', { name: 'Save answers' }).click();
  await assert.doesNotReject(page.getByText('Your answers are saved.').waitFor());
  assert.ok(await page.getByRole('group', { name: 'Age' }).getByLabel('35 to 44').isChecked());
  await expectAccessible(page, 'equality monitoring');
  await context.close();

  const analyst = await browser.newContext();
  page = await analyst.newPage();
  await signIn(page, 'analyst@rza.demo.test');
  await page.getByRole('link', { name: 'Representation' }).first().click();
  await assert.doesNotReject(page.getByRole('heading', { name: 'How representative is the People Bank?' }).waitFor());
  const age = page.getByRole('table', { name: 'Age' });
  assert.equal(await age.getByRole('row', { name: /35 to 44/ }).getByRole('cell').nth(1).innerText(), '–', 'a single answer is hidden');
  assert.equal(await age.getByRole('row', { name: /Total/ }).getByRole('cell').first().innerText(), '–', 'and so is the total that would reveal it');
  await expectAccessible(page, 'representation');
  await analyst.close();
});

test('a lead filters the People Bank by role and expiring training, and exports what they see', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'lead@rza.demo.test');
  await page.goto(`${base}/partners`);
  await page.getByLabel('Role').selectOption('governance_partner');
  await page.getByLabel('Training expiring in 60 days').check();
  await page.getByRole('button', { name: 'Apply' }).click();
  await assert.doesNotReject(page.getByRole('link', { name: 'Asha Patel' }).waitFor(), 'the demo governance partner, training due');
  assert.equal(await page.locator('tbody tr').count(), 1);
  await expectAccessible(page, 'filtered People Bank');
  const href = await page.getByRole('link', { name: 'Download these partners as CSV' }).getAttribute('href');
  assert.match(href, /role=governance_partner/);
  assert.match(href, /expiring=60/);
  const csv = await (await page.request.get(`${base}${href}`)).text();
  const lines = csv.trim().split('\n');
  assert.equal(lines.length, 2, 'the header and the one partner the page shows');
  assert.match(lines[1], /Asha,Patel/);
  assert.doesNotMatch(csv, /benefit|bank|accessib/i, 'no sensitive profile fields');

  const bad = await page.request.get(`${base}/api/v1/partners?role=juggler`);
  assert.equal(bad.status(), 422);
  assert.equal((await bad.json()).errors[0].field, 'role');
  await context.close();
});

test('a partner who agrees to sharing is added by another trust of the ICS without re-entering anything', async () => {
  const partner = await browser.newContext();
  let page = await partner.newPage();
  await signIn(page, 'partner@rza.demo.test');
  await page.goto(`${base}/my-profile`);
  const agree = page.getByRole('button', { name: /^Agree\W+Being offered to other trusts/ });
  if (await agree.count()) await agree.click();
  await assert.doesNotReject(page.getByRole('button', { name: /^Withdraw\W+Being offered to other trusts/ }).waitFor());
  await partner.close();

  const other = await browser.newContext();
  page = await other.newPage();
  await signIn(page, 'lead@rzb.demo.test');
  await page.goto(`${base}/partners`);
  await page.getByRole('link', { name: 'Partners of other trusts in your ICS' }).click();
  await assert.doesNotReject(page.getByRole('cell', { name: 'Asha Patel', exact: true }).waitFor());
  assert.doesNotMatch(await page.content(), /asha\.patel@/, 'no contact details before they are added');
  await expectAccessible(page, 'partners across the ICS');
  await page.getByRole('button', { name: /^Add to our People Bank\W+Asha Patel/ }).click();
  await assert.doesNotReject(page.getByText('Added to your People Bank').waitFor());
  await assert.doesNotReject(page.getByText('asha.patel@rza.partners.demo.test').waitFor(), 'their details came with them');
  assert.match(await page.locator('.alongside-who').innerText(), /RZB/);
  await other.close();
});

test('a withdrawn consent to hold their details is put before the lead', async () => {
  const partner = await browser.newContext();
  let page = await partner.newPage();
  await signIn(page, 'partner@rza.demo.test');
  await page.goto(`${base}/my-profile`);
  const agree = page.getByRole('button', { name: /^Agree\W+The trust keeping these details/ });
  if (await agree.count()) await agree.click();
  await page.getByRole('button', { name: /^Withdraw\W+The trust keeping these details/ }).click();
  await assert.doesNotReject(page.getByText('Your choice is recorded.').waitFor());
  await partner.close();

  const lead = await browser.newContext();
  page = await lead.newPage();
  await signIn(page, 'lead@rza.demo.test');
  await page.goto(`${base}/partners?search=Patel`);
  await page.getByRole('link', { name: 'Asha Patel' }).click();
  await assert.doesNotReject(page.getByText('Consent to hold their details withdrawn').waitFor());
  await expectAccessible(page, 'partner with consent withdrawn');
  await lead.close();
});

test('a lead sets the population served and sees the bank beside it', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'lead@rza.demo.test');
  await page.goto(`${base}/partners/representation`);
  await page.getByText('Set the population served: sex').click();
  await page.getByLabel('Female (%)', { exact: true }).fill('60');
  await page.getByLabel('Male (%)', { exact: true }).fill('60');
  await page.locator('#sex-source').fill('Census 2021, demo area');
  await page.getByRole('button', { name: /^Save figures\W+for sex/ }).click();
  await assert.doesNotReject(page.locator('#sex-shares-error').getByText('add up to 120.0%').waitFor());
  await expectAccessible(page, 'population with errors');
  await page.getByLabel('Female (%)', { exact: true }).fill('51.2');
  await page.getByLabel('Male (%)', { exact: true }).fill('48.8');
  await page.getByRole('button', { name: /^Save figures\W+for sex/ }).click();
  await assert.doesNotReject(page.getByText('Population figures saved.').waitFor());
  const sex = page.getByRole('table', { name: 'Sex' });
  assert.equal(await sex.getByRole('row', { name: /^Female/ }).getByRole('cell').last().innerText(), '51.2%');
  await assert.doesNotReject(sex.getByText('Source: Census 2021, demo area').waitFor());
  await context.close();
});

test('a partner claims expenses with a receipt, finance approve and pay them, and the partner sees the remittance', async () => {
  const partner = await browser.newContext();
  const page = await partner.newPage();
  await signIn(page, 'partner@rza.demo.test');
  await page.getByRole('link', { name: 'Claims' }).first().click();
  await page.getByRole('link', { name: 'Claim expenses' }).click();
  await expectAccessible(page, 'the expense claim form');
  await page.getByLabel('What it was').first().selectOption('parking');
  await page.getByLabel('Details').first().fill('Hospital car park');
  await page.getByLabel('Amount in pounds (not for mileage)').first().fill('7.20');
  await page.getByRole('button', { name: 'Send claim' }).click();
  await assert.doesNotReject(page.getByText('attach the receipt').first().waitFor(), 'an item without its receipt is refused by field');
  assert.match(await page.locator('.nhsuk-error-summary__list a').first().getAttribute('href'), /^#receipt-0$/);
  await expectAccessible(page, 'the expense claim form with errors');
  await page.getByLabel('Receipt (a PDF or a photo, up to 5 MB)').first().setInputFiles({
    name: 'car-park.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n% a receipt\n'),
  });
  await page.getByLabel('What it was').nth(1).selectOption('mileage');
  await page.getByLabel('Miles (mileage only)').nth(1).fill('12.5');
  await page.getByRole('button', { name: 'Send claim' }).click();
  await assert.doesNotReject(page.getByText('Your claim is sent.').waitFor());
  // £7.20 parking and 12.5 miles at 45p (£5.63): £12.83.
  await assert.doesNotReject(page.getByRole('heading', { name: '£12.83: Awaiting approval' }).waitFor());
  await assert.doesNotReject(page.getByText('12.5 miles at 45p').waitFor());
  await expectAccessible(page, 'a claim');

  const finance = await browser.newContext();
  const money = await finance.newPage();
  await signIn(money, 'finance@rza.demo.test');
  await money.goto(`${base}/claims?status=awaiting_approval`);
  await expectAccessible(money, 'claims awaiting approval');
  await money.getByRole('row', { name: /Asha Patel.*£12\.83/ }).getByRole('link').click();
  await assert.doesNotReject(money.getByRole('link', { name: 'car-park.pdf' }).waitFor(), 'the receipt is there to check');
  const receipt = await money.request.get(base + await money.getByRole('link', { name: 'car-park.pdf' }).getAttribute('href'));
  assert.equal(receipt.headers()['content-type'], 'application/pdf');
  await money.getByRole('button', { name: 'Approve claim' }).click();
  await assert.doesNotReject(money.getByText('Claim approved.').waitFor());
  await money.getByRole('link', { name: 'Payment runs' }).first().click();
  await expectAccessible(money, 'payment runs');
  await money.getByRole('button', { name: 'Start a payment run' }).click();
  await assert.doesNotReject(money.getByRole('heading', { name: /ALONGSIDE RZA 0002: £12\.83/ }).waitFor(), 'the run holds the approved claim');
  const file = await money.request.get(`${money.url()}/payment-file.csv`);
  assert.match(await file.text(), /ALONGSIDE RZA 0002,bacs,ptn_[0-9a-f]+,Asha Patel,[^,]+,\d{6},\d{8},1283,12\.83,ALONGSIDE RZA 0002,\r?\n/, 'the payment file carries what BACS needs');
  await expectAccessible(money, 'a draft payment run');
  await money.getByRole('button', { name: 'Confirm: the claims are paid' }).click();
  await assert.doesNotReject(money.getByText('The run is confirmed').waitFor());
  for (const [path, label] of [['/payments/rate-cards', 'rate cards'], ['/payments/benefits', 'benefits safeguards'], ['/payments/budget?group_by=pathway', 'involvement spend'], ['/payments/ledger', 'the ledger']]) {
    await money.goto(`${base}${path}`);
    await expectAccessible(money, label);
  }
  await assert.doesNotReject(money.getByText('The ledger balances').waitFor());
  await finance.close();

  await page.getByRole('link', { name: 'Your payments' }).first().click();
  await expectAccessible(page, 'your payments');
  await page.getByRole('link', { name: /ALONGSIDE RZA 0002/ }).click();
  await assert.doesNotReject(page.getByRole('heading', { name: '£12.83 paid to Asha Patel' }).waitFor());
  await expectAccessible(page, 'remittance advice');
  const pdf = await page.request.get(base + await page.getByRole('link', { name: 'Download as PDF' }).getAttribute('href'));
  assert.equal(pdf.headers()['content-type'], 'application/pdf');
  assert.equal((await pdf.body()).subarray(0, 5).toString(), '%PDF-');
  await page.goto(`${base}/payments/runs`);
  assert.match(await page.locator('h1').innerText(), /You cannot do this/, 'partners do not see payment runs');
  await partner.close();
});

test('the Friends and Family Test page charts % positive as Making Data Count does, with a table view', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'analyst@rza.demo.test');
  await page.goto(`${base}/feedback`);
  const chart = page.getByRole('img', { name: '% positive by month, with its mean and process limits' });
  await assert.doesNotReject(chart.waitFor(), 'the SPC chart is drawn on the server');
  // Six months of demo responses and this one: a point for each.
  assert.ok(await chart.locator('circle').count() >= 6);
  await assert.doesNotReject(page.getByRole('paragraph').filter({ hasText: /points; the latest, \d{4}-\d{2}, is \d+\.\d%/ }).waitFor(), 'what the chart shows, in words');
  await page.getByText('The chart as a table').click();
  await assert.doesNotReject(page.getByRole('columnheader', { name: 'Upper limit' }).waitFor());
  await assert.doesNotReject(page.getByRole('columnheader', { name: '95% interval' }).waitFor());
  await expectAccessible(page, 'the SPC chart');

  // A target and a month where the service changed: the chart says whether it will be met, and
  // its limits start again there; a month not on the chart is refused by name.
  const months = await page.locator('details table tbody th').allTextContents();
  await page.getByLabel('Target % positive').fill('60');
  await page.getByLabel('Limits start again in').fill(months[3]);
  await page.getByRole('button', { name: 'Show' }).click();
  await assert.doesNotReject(page.getByText(/the target will (consistently be met|be met some months)/).first().waitFor());
  await assert.doesNotReject(page.getByText('The red dotted line is the target, 60%.').waitFor());
  await assert.doesNotReject(page.getByText('(2 periods of limits)', { exact: false }).waitFor());
  await page.getByLabel('Limits start again in').fill('2019-01');
  await page.getByRole('button', { name: 'Show' }).click();
  await assert.doesNotReject(page.getByRole('link', { name: /2019-01 is not a month on the chart/ }).waitFor(), 'the error summary names the month');
  await expectAccessible(page, 'the SPC chart with a refused rebase');
  await context.close();
});

test('a complaint is recorded, closed with its learning, and reported to governance', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'lead@rza.demo.test');
  await page.goto(`${base}/complaints`);
  await expectAccessible(page, 'the complaints list');
  await page.getByRole('link', { name: 'Record a complaint' }).click();
  await page.getByLabel('Reference').fill('RZA-BROWSER-1');
  await page.getByLabel('How it came').selectOption('letter');
  await page.getByLabel('Pathway').fill('Browser pathway');
  await page.getByRole('button', { name: 'Record the complaint' }).click();
  // Nothing is stored until every field is right, and each problem is named.
  await assert.doesNotReject(page.getByRole('link', { name: /^Pathway: is not one of the trust's pathways/ }).waitFor(), 'only a listed pathway');
  await assert.doesNotReject(page.getByRole('link', { name: 'Summary: is required' }).waitFor());
  await assert.doesNotReject(page.getByRole('link', { name: 'Categories: choose at least one theme' }).waitFor());
  assert.equal(await page.getByLabel('Reference').inputValue(), 'RZA-BROWSER-1', 'what was typed is kept');
  await expectAccessible(page, 'the complaint form with errors');
  await page.getByLabel('Pathway').fill('Radiology');
  await page.getByLabel('What the complaint is about').fill('Nobody returned my calls about a cancelled scan');
  await page.getByLabel('Contacting services').check();
  await page.getByRole('button', { name: 'Record the complaint' }).click();
  await page.waitForURL(/\/complaints\?notice=recorded/);
  await page.getByRole('link', { name: 'RZA-BROWSER-1' }).click();

  // Closing it as upheld needs the learning.
  const today = todayInEngland();
  await page.getByLabel('Date acknowledged').fill(today);
  await page.getByLabel('Date closed').fill(today);
  await page.getByLabel('Outcome').selectOption('upheld');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await assert.doesNotReject(page.getByRole('link', { name: /Learning: is needed to close an upheld/ }).waitFor());
  await page.getByLabel('What we learned').fill('Call-backs for cancelled scans were nobody\'s job.');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.waitForURL(/notice=updated/);

  // The learning report of this month for that pathway: analysts read it, not the summaries.
  const month = today.slice(0, 7);
  await context.close();
  const analyst = await browser.newContext();
  const report = await analyst.newPage();
  await signIn(report, 'analyst@rza.demo.test');
  const denied = await report.goto(`${base}/complaints`);
  assert.equal(denied.status(), 403, 'analysts do not read complaints one by one');
  await report.goto(`${base}/complaints/learning?from=${month}&to=${month}&pathway=Radiology`);
  await assert.doesNotReject(report.getByText('Call-backs for cancelled scans were nobody\'s job.').waitFor());
  assert.equal(await report.getByText('Nobody returned my calls').count(), 0, 'no summary in the report');
  const received = report.locator('.nhsuk-summary-list__row').filter({ has: report.locator('dt', { hasText: /^Received$/ }) }).locator('dd');
  assert.equal((await received.textContent()).trim(), '1');
  await expectAccessible(report, 'the learning report');
  const pdf = await report.request.get(`${base}/complaints/learning.pdf?from=${month}&to=${month}`);
  assert.equal(pdf.headers()['content-type'], 'application/pdf');

  // The forum's round-up of the last quarter, and an MDT's.
  await report.goto(`${base}/reports/round-up`);
  await assert.doesNotReject(report.getByRole('heading', { name: 'Round-up for the patient forum' }).waitFor());
  await assert.doesNotReject(report.getByRole('heading', { name: 'What comments were about' }).waitFor());
  await assert.doesNotReject(report.getByRole('img', { name: '% positive by month, with its mean and process limits' }).waitFor());
  await expectAccessible(report, 'the forum round-up');
  await report.getByLabel('For', { exact: true }).selectOption({ label: 'The Maternity MDT' });
  await report.getByRole('button', { name: 'Show' }).click();
  await assert.doesNotReject(report.getByRole('heading', { name: 'Round-up for the Maternity MDT' }).waitFor());
  // The MDT's own comments' themes, or (a theme of 1 to 4 comments in some month being hidden
  // from analysts) the number of its comments and why no theme is shown.
  await assert.doesNotReject(report.getByText(/The themes most written about|so none is shown/).first().waitFor(), 'the MDT\'s own comments\' themes');
  await expectAccessible(report, 'an MDT round-up');
  await analyst.close();
});

test('a CSV upload lists every bad row before storing the good ones, and counts nothing twice', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'analyst@rza.demo.test');
  await page.goto(`${base}/feedback`);
  await page.getByRole('link', { name: 'Upload responses from a CSV file' }).click();
  await expectAccessible(page, 'the upload form');
  const file = {
    name: 'cards.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from([
      'response_id,answer,responded_on,source',
      'UP-1,Very good,2026-11-02,paper',
      'UP-2,fantastic,2026-11-02,paper',
      'UP-3,4,2026-11-03,just_a_minute_card',
      'UP-4,Good,2099-01-01,paper',
    ].join('\n')),
  };
  await page.getByLabel('CSV file').setInputFiles(file);
  await page.getByRole('button', { name: 'Check the file' }).click();
  await assert.doesNotReject(page.getByRole('heading', { name: 'Before anything is stored' }).waitFor());
  await assert.doesNotReject(page.getByText('2 new responses will be stored.').waitFor());
  const problems = page.getByRole('table', { name: 'Rows with problems' });
  await assert.doesNotReject(problems.getByRole('row', { name: /^3 answer "fantastic" is not an answer/ }).waitFor(), 'the bad answer, by line and field');
  await assert.doesNotReject(problems.getByRole('row', { name: /^5 responded_on cannot be in the future/ }).waitFor());
  await expectAccessible(page, 'the upload preview');
  await page.getByRole('button', { name: 'Store the 2 new responses' }).click();
  await assert.doesNotReject(page.getByText('2 responses stored; 0 already held and not counted again; 2 rows with problems left out.').waitFor());
  // The same file again: nothing new.
  await page.getByLabel('CSV file').setInputFiles(file);
  await page.getByRole('button', { name: 'Check the file' }).click();
  await assert.doesNotReject(page.getByText('0 new responses will be stored.').waitFor());
  await assert.doesNotReject(page.getByText('2 are already held').waitFor());
  assert.equal(await page.getByRole('button', { name: /^Store the/ }).count(), 0, 'nothing to store');
  await context.close();
});

test('PROM questionnaires are uploaded as item scores, NHS numbers refused, and summarised by pathway', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'analyst@rzb.demo.test');
  // A month in the middle of the demo's episodes: enough questionnaires that one more is shown.
  const day = daysFromToday(-100);
  const month = day.slice(0, 7);
  const summary = async () => (await page.request.get(`${base}/api/v1/feedback/prom-summary?pathway=Hip%20and%20knee&from=${month}-01&to=${day}`)).json();
  const before = await summary();
  await page.goto(`${base}/feedback/proms`);
  await assert.doesNotReject(page.getByRole('table', { name: /^MSK-HQ/ }).getByRole('row', { name: /^Hip and knee/ }).waitFor());
  await expectAccessible(page, 'outcome measures');
  await page.getByRole('link', { name: 'Upload questionnaires from a CSV file' }).click();
  await expectAccessible(page, 'the PROM upload form');
  const items = Array.from({ length: 14 }, (_, i) => `item_${i + 1}`).join(',');
  const file = {
    name: 'proms.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from([
      `response_id,instrument,episode_id,completed_on,source,pathway,${items}`,
      `UPQ-1,msk_hq,EP-UP-1,${day},paper,Hip and knee,3,3,3,3,3,3,3,3,3,3,3,3,3,3`,
      `UPQ-2,sure,EP-UP-1,${day},paper,Hip and knee,1,1,0,1`,
      `UPQ-3,msk_hq,943 476 5919,${day},paper,Hip and knee,3,3,3,3,3,3,3,3,3,3,3,3,3,3`,
      `UPQ-4,msk_hq,EP-UP-2,${day},paper,Hip and knee,3,3,3,3,5,3,3,3,3,3,3,3,3,3`,
    ].join('\n')),
  };
  await page.getByLabel('CSV file').setInputFiles(file);
  await page.getByRole('button', { name: 'Check the file' }).click();
  await assert.doesNotReject(page.getByText('2 new questionnaires will be stored.').waitFor());
  const problems = page.getByRole('table', { name: 'Rows with problems' });
  await assert.doesNotReject(problems.getByRole('row', { name: /^4 episode_id is an NHS number/ }).waitFor(), 'an NHS number is refused, by line');
  await assert.doesNotReject(problems.getByRole('row', { name: /^5 items item 5 is 5; items are scored 0 to 4/ }).waitFor());
  assert.equal((await summary()).msk_hq_responses, before.msk_hq_responses, 'the preview stores nothing');
  await expectAccessible(page, 'the PROM upload preview');
  await page.getByRole('button', { name: 'Store the 2 new questionnaires' }).click();
  await assert.doesNotReject(page.getByText('2 questionnaires stored; 0 already held and not counted again; 2 rows with problems left out.').waitFor());
  const after = await summary();
  assert.ok(before.msk_hq_responses >= 5 && before.sure_responses >= 5, JSON.stringify(before));
  assert.equal(after.msk_hq_responses, before.msk_hq_responses + 1);
  assert.equal(after.sure_responses, before.sure_responses + 1);
  await page.goto(`${base}/feedback/proms?pathway=Hip%20and%20knee&threshold=99`);
  await assert.doesNotReject(page.getByText('Threshold: must be a whole number of points from 1 to 56').first().waitFor(), 'a bad filter is named');
  await context.close();
});

test('comments are counted by theme, corrected by staff, and the model retrained with the corrections', async () => {
  const analystContext = await browser.newContext();
  const analyst = await analystContext.newPage();
  await signIn(analyst, 'analyst@rzb.demo.test');
  await analyst.goto(`${base}/feedback/themes`);
  await assert.doesNotReject(analyst.getByRole('table', { name: 'How comments feel' }).waitFor());
  assert.equal(await analyst.getByRole('link', { name: 'Read and correct the comments' }).count(), 0, 'analysts see counts, not comments');
  await analyst.goto(`${base}/feedback/comments`);
  assert.match(await analyst.locator('h1').innerText(), /You cannot do this/);
  await analystContext.close();

  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'lead@rzb.demo.test');
  await page.goto(`${base}/feedback/themes`);
  await expectAccessible(page, 'themes in comments');
  await page.getByRole('table', { name: 'Access to medical care & support' }).getByRole('link', { name: 'Timeliness of care' }).click();
  await assert.doesNotReject(page.getByRole('heading', { name: 'Comments' }).waitFor());
  assert.equal(await page.getByLabel('Theme').inputValue(), 'timeliness', 'the list is filtered by the theme chosen');
  await expectAccessible(page, 'the comments list');
  await page.getByRole('link', { name: /^Correct the comment of/ }).first().click();
  await assert.doesNotReject(page.getByRole('heading', { name: "Correct a comment's themes" }).waitFor());
  await expectAccessible(page, 'the correction form');
  // Nothing chosen: the error is named, and nothing is saved.
  const ticked = page.getByRole('checkbox', { checked: true });
  while (await ticked.count()) await ticked.first().uncheck();
  await page.getByRole('button', { name: 'Save the correction' }).click();
  await assert.doesNotReject(page.getByText('choose at least one category').first().waitFor());
  await expectAccessible(page, 'the correction form with an error');
  await page.getByLabel('Transport to/ from services').check();
  await page.getByLabel('Staffing levels & responsiveness').check();
  await page.getByLabel('Very negative').check();
  await page.getByRole('button', { name: 'Save the correction' }).click();
  await assert.doesNotReject(page.getByText('Correction saved.').waitFor());
  await page.getByLabel('Labelled').selectOption('staff');
  await page.getByLabel('Theme').selectOption('');
  await page.getByRole('button', { name: 'Show' }).click();
  await assert.doesNotReject(page.getByRole('cell', { name: /Staffing levels & responsiveness; Transport to\/ from services Corrected/ }).first().waitFor());

  await page.goto(`${base}/feedback/themes/model`);
  await expectAccessible(page, 'the themes model');
  await assert.doesNotReject(page.getByText('1 comment corrected by your staff.').waitFor());
  await page.getByRole('button', { name: 'Retrain the model' }).click();
  await assert.doesNotReject(page.getByText('Retraining has started.').waitFor());
  // Training takes seconds; look again until it has finished, however slow the machine.
  for (;;) {
    if (await page.getByText(/^Finished .* with 1 correction\.$/).count()) break;
    assert.equal(await page.getByText('did not finish').count(), 0, 'the retraining does not fail');
    await page.waitForTimeout(1000);
    await page.goto(`${base}/feedback/themes/model`);
  }
  await assert.doesNotReject(page.getByText('Your trust uses its own model, retrained with its corrections.').waitFor());
  await expectAccessible(page, 'the retrained model');
  await context.close();
});

test('an administrator lists the trust\'s places, and a place not listed is refused with the reason', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'admin@rza.demo.test');
  await page.getByRole('link', { name: 'Places' }).first().click();
  await assert.doesNotReject(page.getByRole('table', { name: 'Sites' }).getByRole('row', { name: /Riverside Hospital/ }).first().waitFor(), 'the demo trust\'s sites');
  await expectAccessible(page, 'places');
  await page.getByLabel('Code', { exact: true }).fill('jo@example.org');
  await page.getByRole('button', { name: 'Save the place' }).click();
  await assert.doesNotReject(page.getByText('must be 1 to 40 letters').first().waitFor(), 'a code that is not a code is refused by field');
  await expectAccessible(page, 'places with an error');
  for (const site of ['Ward 9', 'Willow Ward']) {
    await page.getByLabel('Kind', { exact: true }).selectOption('site');
    await page.getByLabel('Code', { exact: true }).fill(site);
    await page.getByRole('button', { name: 'Save the place' }).click();
    await assert.doesNotReject(page.getByText('The place is saved.').waitFor());
  }
  await assert.doesNotReject(page.getByRole('table', { name: 'Sites' }).getByRole('row', { name: /Willow Ward/ }).waitFor());
  const csv = await (await page.request.get(`${base}/admin/places.csv`)).text();
  assert.match(csv, /^kind,code,name,status/);
  assert.match(csv, /\nsite,Ward 9,Ward 9,active,/);
  await context.close();

  // A link naming a place the trust does not list is refused before it is made.
  const staff = await browser.newContext();
  const desk = await staff.newPage();
  await signIn(desk, 'analyst@rza.demo.test');
  await desk.goto(`${base}/feedback/links`);
  await desk.getByLabel('How many links').fill('1');
  await desk.getByLabel('Site (optional)').fill('jo@example.org');
  await desk.getByRole('button', { name: 'Make links' }).click();
  await assert.doesNotReject(desk.getByText('enter one of the trust\'s codes under Places').first().waitFor());
  await staff.close();
});

test('the public FFT form works on a phone, and a personal link counts once', async () => {
  const staff = await browser.newContext();
  const desk = await staff.newPage();
  await signIn(desk, 'analyst@rza.demo.test');
  const month = todayInEngland().slice(0, 7);
  const counted = async () => {
    const months = await (await desk.request.get(`${base}/api/v1/feedback/fft-summary?from=${month}&to=${month}`)).json();
    return months.reduce((n, m) => n + m.total, 0);
  };
  const before = await counted();
  await desk.goto(`${base}/feedback/links`);
  await expectAccessible(desk, 'survey links');
  await desk.getByLabel('How many links').fill('1');
  await desk.getByLabel('Site (optional)').fill('Ward 9');
  await desk.getByRole('button', { name: 'Make links' }).click();
  const url = new URL(await desk.getByRole('table', { name: '1 new link' }).locator('code').innerText());
  const personal = `${base}${url.pathname}${url.search}`;

  const phone = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true });
  const page = await phone.newPage();
  await page.goto(`${base}/fft/RZA`);
  await assert.doesNotReject(page.getByRole('group', { name: 'Overall, how was your experience of our service?' }).waitFor());
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'nothing wider than the phone');
  await expectAccessible(page, 'the public FFT form on a phone');
  await page.getByRole('button', { name: 'Send' }).click();
  await assert.doesNotReject(page.getByText('Choose the answer that fits best').first().waitFor(), 'no answer: said so');
  await expectAccessible(page, 'the public FFT form with an error');
  await page.getByLabel('Good', { exact: true }).check();
  await page.getByLabel('What worked well? (optional)').fill('The physio explained everything.');
  await page.getByRole('button', { name: 'Send' }).click();
  await assert.doesNotReject(page.getByRole('heading', { name: 'Thank you' }).waitFor());
  await expectAccessible(page, 'thanks');

  await page.goto(personal);
  await page.getByLabel('Very good').check();
  await page.getByRole('button', { name: 'Send' }).click();
  await assert.doesNotReject(page.getByText('helps').waitFor());
  await page.goto(personal);
  await assert.doesNotReject(page.getByText('Your answer was already counted').waitFor(), 'a personal link counts once');
  assert.equal(await counted(), before + 2, 'the web answer and the link\'s, once each');
  const bySite = await (await desk.request.get(`${base}/api/v1/feedback/fft-breakdown?by=site&from=${month}&to=${month}`)).json();
  const ward = bySite.rows.find((r) => r.value === 'Ward 9');
  assert.equal(ward?.total, 1, 'the link\'s answer is counted at the site it names');
  assert.equal(ward.suppression, 'primary', 'and its figures hidden, being one response');
  await phone.close();
  await staff.close();
});

test('FFT figures are narrowed to a place, broken down by team or by who answered, and small numbers are hidden', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'analyst@rza.demo.test');
  await page.goto(`${base}/feedback`);
  await page.getByLabel('Site', { exact: true }).selectOption('Riverside Hospital');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.waitForURL(/site=Riverside/);
  await assert.doesNotReject(page.getByRole('table', { name: 'Responses by month' }).waitFor(), 'the site has months of responses');
  await expectAccessible(page, 'the FFT page narrowed to a site');

  await page.getByRole('link', { name: /See these figures by site/ }).click();
  await page.getByLabel('Break down by').selectOption('team');
  await page.getByRole('button', { name: 'Show' }).click();
  const byTeam = page.getByRole('table', { name: 'Responses by team' });
  await assert.doesNotReject(byTeam.getByRole('row', { name: /^All responses/ }).waitFor());
  await assert.doesNotReject(byTeam.getByRole('row', { name: /^Labour ward/ }).waitFor(), 'the teams seen at that site');
  await expectAccessible(page, 'the FFT breakdown');

  // Who answered is by period only: with a place as well, a row could be one person.
  await page.getByLabel('Break down by').selectOption('imd_decile');
  await page.getByRole('button', { name: 'Show' }).click();
  await assert.doesNotReject(page.getByText('The health-equity view is by period only').first().waitFor());
  await expectAccessible(page, 'the health-equity view refusing a place');
  await page.getByLabel('Site', { exact: true }).selectOption('');
  await page.getByRole('button', { name: 'Show' }).click();
  const byDecile = page.getByRole('table', { name: /Responses by deprivation/ });
  await assert.doesNotReject(byDecile.getByRole('row', { name: /^1 \(most deprived\)/ }).waitFor());
  await expectAccessible(page, 'the health-equity view');

  // Two paper cards from a small ward: counted, but their figures hidden as NHS England hides them.
  await page.goto(`${base}/feedback`);
  for (const card of ['SMALL-1', 'SMALL-2']) {
    await page.getByLabel('Card or form number').fill(card);
    await page.getByLabel('Site (optional)').fill('Willow Ward');
    await page.getByRole('button', { name: 'Add response' }).click();
    await assert.doesNotReject(page.getByText('Response added.').waitFor());
  }
  await page.goto(`${base}/feedback/breakdown?by=site`);
  const small = page.getByRole('table', { name: 'Responses by site' }).getByRole('row', { name: /^Willow Ward/ });
  await assert.doesNotReject(small.waitFor());
  const cells = await small.getByRole('cell').allInnerTexts();
  assert.equal(cells[0], '2', 'the total is shown');
  assert.deepEqual(cells.slice(1, 9), ['*', '*', '*', '*', '*', '*', '*', '*'], 'every figure of 2 responses is hidden');
  assert.equal(cells[9], 'Hidden: 1 to 4 responses');
  const csv = await (await page.request.get(`${base}/feedback/breakdown.csv?by=site`)).text();
  assert.match(csv, /^site,total,very_good/);
  assert.match(csv, /\nWillow Ward,2,,,,,,,,,primary/);
  await context.close();
});

test('a lead adds a question of the trust\'s own, the web form asks it, and a lone answer is hidden', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'lead@rza.demo.test');
  await page.goto(`${base}/feedback/survey`);
  await expectAccessible(page, 'the survey page');
  // The demo survey's answers are counted by question.
  await assert.doesNotReject(page.getByRole('table', { name: 'Was it easy to book or arrange your appointment?' }).waitFor());
  const blank = page.locator('fieldset', { hasText: 'A new question' }).first();
  await blank.getByLabel('Question', { exact: true }).fill('How was the waiting area?');
  await blank.getByLabel('Answered on the scale').selectOption('rating');
  await page.getByRole('button', { name: 'Save the survey' }).click();
  await page.waitForURL(/notice=saved/);

  const patient = await browser.newContext({ viewport: { width: 375, height: 740 } });
  const form = await patient.newPage();
  await form.goto(`${base}/fft/RZA`);
  const question = form.getByRole('group', { name: 'How was the waiting area? (optional)' });
  await assert.doesNotReject(question.waitFor(), 'the web form asks the new question');
  await form.getByLabel('Very good', { exact: true }).first().check();
  await question.getByLabel('Poor', { exact: true }).check();
  await form.getByRole('button', { name: 'Send' }).click();
  await assert.doesNotReject(form.getByRole('heading', { name: /Thank you/ }).waitFor());
  await patient.close();

  await page.goto(`${base}/feedback/survey`);
  const table = page.getByRole('table', { name: 'How was the waiting area?' });
  await assert.doesNotReject(table.getByText('Hidden: small numbers').waitFor(), 'one answer is not shown');
  await context.close();
});

test('an ICS analyst compares its trusts, drills into one, downloads a table and prints the board report', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'ics.analyst@qzx.demo.test');
  await page.getByRole('link', { name: 'Dashboard' }).first().click();
  await assert.doesNotReject(page.getByRole('heading', { name: /^Dashboard: Demo Valley/ }).waitFor());
  const table = page.getByRole('table', { name: /by trust/ });
  await assert.doesNotReject(table.getByRole('link', { name: 'Riverside MSK Partnership (demo)' }).waitFor());
  await assert.doesNotReject(table.getByRole('rowheader', { name: /all trusts/ }).waitFor(), 'the ICS in total');
  await assert.doesNotReject(page.getByRole('img', { name: /% positive against responses/ }).waitFor(), 'the funnel plot');
  await assert.doesNotReject(page.getByRole('img', { name: /Common cause variation|Special cause/ }).first().waitFor(), 'the variation icons');
  await page.getByText('The funnel plot as a table').click();
  await assert.doesNotReject(page.getByRole('columnheader', { name: '99.8% limits' }).waitFor());
  await page.getByText(/Hillside Community Health \(demo\): the chart as a table/).click();
  await assert.doesNotReject(page.getByRole('columnheader', { name: 'Upper limit' }).first().waitFor());
  const involvement = page.getByRole('table', { name: /sessions attended and their hours/ });
  await assert.doesNotReject(involvement.getByRole('columnheader', { name: 'Partners involved' }).waitFor(), 'involvement: hours and people');
  await assert.doesNotReject(involvement.getByRole('rowheader', { name: /all trusts/ }).waitFor());
  await expectAccessible(page, 'the ICS dashboard');

  // Filters: one at a time; the trusts by a pathway.
  await page.getByLabel('Pathway').selectOption('Musculoskeletal');
  await page.getByLabel('Way of answering').selectOption('web');
  await page.getByRole('button', { name: 'Show' }).click();
  await assert.doesNotReject(page.getByRole('link', { name: /one of locality, pathway or way of answering at a time/ }).waitFor());
  await expectAccessible(page, 'the ICS dashboard with a refused filter');
  await page.getByLabel('Way of answering').selectOption('');
  await page.getByRole('button', { name: 'Show' }).click();
  await assert.doesNotReject(page.getByText(/Charts are drawn for all of each trust's responses/).waitFor());

  const csv = await page.request.get(base + await page.getByRole('link', { name: 'Download these figures (CSV)' }).getAttribute('href'));
  assert.equal(csv.status(), 200);
  assert.match(csv.headers()['content-disposition'], /filename="dashboard-qzx-fft-\d{4}-\d{2}-\d{4}-\d{2}\.csv"/);
  assert.match(await csv.text(), /^code,name,responses/);

  // Into a trust: by pathway, then by way of answering.
  await page.getByRole('table', { name: /by trust/ }).getByRole('link', { name: 'Hillside Community Health (demo)' }).click();
  await assert.doesNotReject(page.getByRole('heading', { name: 'Dashboard: Hillside Community Health (demo)' }).waitFor());
  await assert.doesNotReject(page.getByRole('table', { name: /by pathway/ }).waitFor());
  await page.getByLabel('Show the trust by').selectOption('source');
  await page.getByRole('button', { name: 'Show' }).click();
  await assert.doesNotReject(page.getByRole('table', { name: /by way of answering/ }).getByRole('rowheader', { name: 'Text message' }).waitFor());
  await expectAccessible(page, 'a trust seen from its ICS');
  await page.getByRole('link', { name: "Back to all the ICS's trusts" }).click();

  await page.getByRole('link', { name: 'Board report for this period' }).click();
  await assert.doesNotReject(page.getByRole('heading', { name: /^Board report: Demo Valley/ }).waitFor());
  assert.equal(await page.getByRole('button', { name: 'Show' }).count(), 0, 'no filters on the board\'s copy');
  await expectAccessible(page, 'the board report');
  const pdf = await page.request.get(base + await page.getByRole('link', { name: 'Download as PDF' }).getAttribute('href'));
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()['content-type'], 'application/pdf');
  await context.close();
});

test('a trust analyst sees their own trust by site and drills into a site; another trust is refused', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'analyst@rza.demo.test');
  await page.goto(`${base}/dashboard`);
  await assert.doesNotReject(page.getByRole('heading', { name: 'Dashboard: Riverside MSK Partnership (demo)' }).waitFor());
  const sites = page.getByRole('table', { name: /by site/ });
  await sites.getByRole('link', { name: 'Riverside Hospital' }).click();
  await assert.doesNotReject(page.getByRole('table', { name: /by pathway/ }).waitFor(), 'a site by pathway');
  assert.equal(await page.getByLabel('Site').inputValue(), 'Riverside Hospital');
  await expectAccessible(page, 'the trust dashboard');
  const refused = await page.goto(`${base}/dashboard?trust=RZB`);
  assert.equal(refused.status(), 403);
  await context.close();
});

test('a lead adds to the impact log and reads it as a timeline by pathway', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'lead@rza.demo.test');
  await page.getByRole('link', { name: 'Impact log' }).first().click();
  await assert.doesNotReject(page.getByRole('heading', { name: 'Impact log: you said, we did' }).waitFor());
  await expectAccessible(page, 'the impact log');
  // A date in the future is refused by name, and nothing typed is lost.
  await page.getByLabel('You said: what partners raised').fill('The clinic letters did not say where to park');
  await page.getByLabel('We did: what changed').fill('Letters now include a map and the parking entrance');
  await page.getByLabel('When it changed').fill('2099-01-01');
  await page.getByLabel('Pathway (optional)').fill('Musculoskeletal');
  await page.getByLabel('Appointment arrangements').check();
  await page.getByRole('button', { name: 'Add to the log' }).click();
  await assert.doesNotReject(page.getByRole('link', { name: /When it changed|Changed on: cannot be in the future/ }).first().waitFor());
  assert.equal(await page.getByLabel('We did: what changed').inputValue(), 'Letters now include a map and the parking entrance');
  await expectAccessible(page, 'the impact log with a refused date');
  await page.getByLabel('When it changed').fill('2026-11-20');
  await page.getByRole('button', { name: 'Add to the log' }).click();
  await assert.doesNotReject(page.getByText('Added to the impact log.').waitFor());
  await assert.doesNotReject(page.getByRole('heading', { name: 'Musculoskeletal', level: 2 }).waitFor());
  await assert.doesNotReject(page.getByText('The clinic letters did not say where to park').waitFor());
  await assert.doesNotReject(page.getByText('Appointment arrangements').first().waitFor());
  const csv = await page.request.get(`${base}/impact.csv?pathway=Musculoskeletal`);
  assert.equal(csv.status(), 200);
  assert.match(await csv.text(), /^changed_on,pathway,you_said,we_did/);
  await context.close();
});

test('a team asks for partners; the lead offers a place; the partner accepts; attendance is confirmed', async () => {
  const today = todayInEngland();
  const staff = await browser.newContext();
  const staffPage = await staff.newPage();
  await signIn(staffPage, 'staff@rza.demo.test');
  await staffPage.getByRole('link', { name: 'Requests for partners' }).first().click();
  await expectAccessible(staffPage, 'requests for partners');
  await staffPage.getByRole('button', { name: 'Send request' }).click();
  await assert.doesNotReject(staffPage.getByText('There is a problem').waitFor());
  await assert.doesNotReject(staffPage.locator('#team-error').waitFor(), 'every missing field is named');
  await expectAccessible(staffPage, 'request with errors');
  await staffPage.getByLabel('What the work is').fill('Discharge leaflet review');
  await staffPage.getByLabel('Your team').fill('Spinal ward');
  await staffPage.getByLabel('Pathway (optional)').fill('spinal');
  await staffPage.getByLabel('What you would like partners to do').fill('Read the discharge leaflet and tell us what is missing');
  await staffPage.getByLabel('How many partners').fill('1');
  await staffPage.getByRole('button', { name: 'Send request' }).click();
  await assert.doesNotReject(staffPage.getByText('Request sent to the engagement team.').waitFor());
  await staff.close();

  const lead = await browser.newContext();
  const page = await lead.newPage();
  await signIn(page, 'lead@rza.demo.test');
  await page.goto(`${base}/requests`);
  await page.getByRole('link', { name: /Turn into an opportunity.*Discharge leaflet review/ }).click();
  await assert.doesNotReject(page.getByText('Answering the request').waitFor());
  assert.equal(await page.getByLabel('Title').inputValue(), 'Discharge leaflet review', 'the form starts from the request');
  await expectAccessible(page, 'a new opportunity from a request');
  await page.getByLabel('Date of the first session').fill('2020-01-01');
  await page.getByRole('button', { name: 'Save opportunity' }).click();
  await assert.doesNotReject(page.getByText('must be today').first().waitFor(), 'a published opportunity starts today or later');
  // The request's typed pathway is not one of the trust's: the lead picks a listed one.
  await assert.doesNotReject(page.getByRole('link', { name: /^Pathway: is not one of the trust's pathways/ }).waitFor(), 'only a listed pathway');
  await page.getByLabel('Pathway (optional)').selectOption('Musculoskeletal');
  await page.getByLabel('Date of the first session').fill(today);
  await page.getByLabel('Expected time per session, in minutes').fill('90');
  await page.getByLabel('Accessibility arrangements (optional)').fill('Large print copies');
  await page.getByRole('button', { name: 'Save opportunity' }).click();
  await assert.doesNotReject(page.getByRole('heading', { name: 'Discharge leaflet review' }).waitFor());
  await assert.doesNotReject(page.getByText('Large print copies').waitFor());
  await assert.doesNotReject(page.getByRole('heading', { name: 'Shortlist' }).waitFor());
  await expectAccessible(page, 'an opportunity with its shortlist');
  await page.getByRole('button', { name: 'Offer a place to Asha Patel' }).click();
  await assert.doesNotReject(page.getByText('Place offered.').waitFor());
  await assert.doesNotReject(page.getByText('Offered, waiting for their answer').waitFor());
  const opportunityUrl = page.url().split('?')[0];
  await page.goto(`${base}/requests?status=converted`);
  await assert.doesNotReject(page.getByRole('link', { name: 'Turned into an opportunity' }).first().waitFor());

  const partner = await browser.newContext();
  const partnerPage = await partner.newPage();
  await signIn(partnerPage, 'partner@rza.demo.test');
  await partnerPage.getByRole('link', { name: 'Opportunities for you' }).first().click();
  await expectAccessible(partnerPage, 'opportunities for a partner');
  await partnerPage.getByRole('link', { name: 'Your sessions' }).first().click();
  await assert.doesNotReject(partnerPage.getByRole('heading', { name: 'Discharge leaflet review' }).waitFor());
  await expectAccessible(partnerPage, 'a partner\'s offers and sessions');
  await partnerPage.getByRole('button', { name: 'Accept Discharge leaflet review' }).click();
  await assert.doesNotReject(partnerPage.getByText('your place is confirmed').waitFor());
  await assert.doesNotReject(partnerPage.getByRole('cell', { name: 'Discharge leaflet review' }).waitFor(), 'the session is listed to come');
  const ics = await partnerPage.request.get(`${base}/my/sessions.ics`);
  assert.equal(ics.status(), 200);
  assert.match(ics.headers()['content-type'], /text\/calendar/);
  assert.match(await ics.text(), /SUMMARY:Discharge leaflet review\r\n/);
  await partnerPage.getByRole('link', { name: 'Your preferences' }).first().click();
  await partnerPage.getByLabel('Saturday').check();
  await partnerPage.getByLabel('Conflicts of interest (optional)').fill('rheumatology');
  await partnerPage.getByRole('button', { name: 'Save preferences' }).click();
  await assert.doesNotReject(partnerPage.getByText('Your preferences are saved.').waitFor());
  assert.equal(await partnerPage.getByLabel('Conflicts of interest (optional)').inputValue(), 'rheumatology');
  await expectAccessible(partnerPage, 'a partner\'s preferences');
  await partner.close();

  await page.goto(opportunityUrl);
  await assert.doesNotReject(page.getByRole('cell', { name: 'Accepted', exact: true }).waitFor());
  await page.getByLabel('Minutes attended').fill('100');
  await page.getByRole('button', { name: 'Confirm attendance' }).click();
  await assert.doesNotReject(page.getByText('Attendance recorded.').waitFor());
  await assert.doesNotReject(page.getByText('Attended, 100 minutes').waitFor());
  await expectAccessible(page, 'an opportunity with attendance');

  await page.goto(`${base}/engagement/report`);
  await assert.doesNotReject(page.getByRole('cell', { name: 'Musculoskeletal' }).first().waitFor(), 'the report counts the hours by pathway');
  await expectAccessible(page, 'the involvement report');
  const csv = await page.request.get(`${base}/engagement/report.csv`);
  assert.match(await csv.text(), /pathway,Musculoskeletal,1,1\.7,1/);
  await page.goto(`${base}/forums`);
  await expectAccessible(page, 'forums');
  await page.getByRole('link', { name: 'Pain Patient and Carer Forum' }).click();
  await page.getByRole('button', { name: 'Add action' }).click();
  await assert.doesNotReject(page.getByText('There is a problem').waitFor());
  await page.getByLabel('Action', { exact: true }).fill('Share the leaflet draft');
  await page.getByLabel('Owner').fill('Ward manager');
  await page.getByLabel('Due').fill(today);
  await page.getByRole('button', { name: 'Add action' }).click();
  await assert.doesNotReject(page.getByText('Action saved.').waitFor());
  await assert.doesNotReject(page.getByRole('cell', { name: 'Share the leaflet draft', exact: true }).waitFor());
  await expectAccessible(page, 'a forum');
  await page.getByRole('button', { name: /Mark done.*Share the leaflet draft/ }).click();
  await assert.doesNotReject(page.getByRole('cell', { name: `Done ${today}` }).first().waitFor(), 'the action is done today');
  await lead.close();
});
