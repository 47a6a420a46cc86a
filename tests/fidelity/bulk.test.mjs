// Fidelity of Bulk API 2.0 ingest and parent locks: jsforce's bulk2 API (3.10.14) drives real
// sluice-sfsim processes, uploading CSV it writes itself and parsing the result files sfsim writes.
//
// Run: SFSIM_BIN=build/bin/sluice-sfsim node --test bulk.test.mjs (run.sh does this).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import jsforce from 'jsforce';

const BIN = process.env.SFSIM_BIN;
const VERSION = '62.0';
const procs = [];

function start(args) {
  const child = spawn(BIN, ['--port', '0', '--log-level', 'warn', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  procs.push(child);
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error('sluice-sfsim did not start in 20 s')), 20000);
    child.stdout.on('data', (chunk) => {
      buffer += chunk.toString();
      const m = buffer.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`sluice-sfsim exited early (${code})`)));
  });
}

async function connect(url) {
  const conn = new jsforce.Connection({
    oauth2: { loginUrl: url, clientId: 'sluice-sfsim-client', clientSecret: 'sluice-sfsim-secret' },
    version: VERSION,
  });
  await conn.authorize({ grant_type: 'client_credentials' });
  return conn;
}

async function admin(url, method, p, body) {
  const res = await fetch(url + p, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.equal(res.status, 200, `${method} ${p}`);
  return p.startsWith('/sim/ledger') ? res.text() : res.json();
}

let fast;  // default bulk model, 100 ms queue delay
let slow;  // 2-record batches, 2 in parallel, 1 record/s each; 1 s lock timeout

before(async () => {
  assert.ok(BIN, 'SFSIM_BIN must name the sluice-sfsim binary');
  fast = await start(['--bulk-queue-delay', '100ms']);
  slow = await start([
    '--bulk-batch-size', '2', '--bulk-parallel-batches', '2', '--bulk-records-per-second', '2',
    '--bulk-queue-delay', '100ms', '--lock-timeout', '1s',
  ]);
});

after(async () => {
  await Promise.all(
    procs
      .filter((p) => p.exitCode === null)
      .map((p) => {
        const exited = new Promise((resolve) => p.on('exit', resolve));
        p.kill('SIGTERM');
        return exited;
      }),
  );
});

const HOSTILE = '=HYPERLINK("http://x","y"), then a comma\nand a second line; Zoë 😀';

test('bulk2 upsert of records: results files, hostile values, ledger marks bulk', async () => {
  const conn = await connect(fast);
  const records = [];
  for (let i = 0; i < 50; i++) {
    records.push({
      Sluice_Key__c: `bulk-${i}`,
      Sluice_Event_Id__c: `bulk-ev-${i}`,
      LastName: i === 7 ? null : `L${i}`,  // null is written as #N/A: a required field missing
      Description: i === 3 ? HOSTILE : `d${i}`,
    });
  }
  const res = await conn.bulk2.loadAndWaitForResults({
    object: 'Contact',
    operation: 'upsert',
    externalIdFieldName: 'Sluice_Key__c',
    input: records,
    pollInterval: 100,
    pollTimeout: 30000,
  });
  assert.equal(res.successfulResults.length, 49);
  assert.equal(res.failedResults.length, 1);
  assert.equal(res.unprocessedRecords.length, 0);
  const ok3 = res.successfulResults.find((r) => r.Sluice_Key__c === 'bulk-3');
  assert.equal(ok3.Description, HOSTILE);
  assert.match(ok3.sf__Id, /^003[A-Za-z0-9]{15}$/);
  assert.equal(String(ok3.sf__Created), 'true');
  const bad = res.failedResults[0];
  assert.equal(bad.Sluice_Key__c, 'bulk-7');
  assert.match(bad.sf__Error, /^REQUIRED_FIELD_MISSING:Required fields are missing: \[LastName\]/);

  // Again: the same keys update.
  const again = await conn.bulk2.loadAndWaitForResults({
    object: 'Contact',
    operation: 'upsert',
    externalIdFieldName: 'Sluice_Key__c',
    input: records.slice(0, 2),
    pollInterval: 100,
    pollTimeout: 30000,
  });
  assert.deepEqual(again.successfulResults.map((r) => String(r.sf__Created)), ['false', 'false']);

  const ledger = (await admin(fast, 'GET', '/sim/ledger')).trim().split('\n').map((l) => JSON.parse(l));
  const bulk = ledger.filter((e) => e.bulk === true);
  assert.equal(bulk.length, 51);
  assert.match(bulk[0].bulk_job_id, /^750/);
  const stats = await admin(fast, 'GET', '/sim/stats');
  assert.equal(stats.bulk.records_processed, 52);
  // Every request (create, upload, close, polls, three result fetches) counted one call.
  const limits = await conn.limits();
  assert.equal(stats.api_usage.used + 1, 100000 - limits.DailyApiRequests.Remaining);
  assert.equal(limits.DailyBulkApiBatches.Remaining, 15000 - 2);
});

test('bulk2 job failure: an unknown column and a malformed CSV', async () => {
  const conn = await connect(fast);
  const job = conn.bulk2.createJob({ object: 'Contact', operation: 'insert', lineEnding: 'LF' });
  await job.open();
  await job.uploadData('LastName,Bogus__c\nA,x\n');
  await job.close();
  await assert.rejects(job.poll(100, 30000), /Field name not found : Bogus__c/);
  const unprocessed = await job.getUnprocessedRecords();
  assert.deepEqual(unprocessed.map((r) => r.LastName), ['A']);

  const broken = conn.bulk2.createJob({ object: 'Contact', operation: 'insert', lineEnding: 'LF' });
  await broken.open();
  await broken.uploadData('LastName,Description\nA,"never closed\n');
  await broken.close();
  await assert.rejects(broken.poll(100, 30000), /ClientInputError : CSV row 2: a quoted field is not closed/);
  await broken.delete();
  await assert.rejects(broken.check(), /NOT_FOUND|does not exist/);
});

test('bulk2 insert from CRLF CSV text', async () => {
  const conn = await connect(fast);
  const res = await conn.bulk2.loadAndWaitForResults({
    object: 'Lead',
    operation: 'insert',
    lineEnding: 'CRLF',
    input: 'LastName,Company,Description\r\nA,Acme,"two\r\nlines"\r\nB,,x\r\n',
    pollInterval: 100,
    pollTimeout: 30000,
  });
  assert.equal(res.successfulResults.length, 1);
  assert.equal(res.successfulResults[0].Description, 'two\r\nlines');
  assert.match(res.failedResults[0].sf__Error, /^REQUIRED_FIELD_MISSING/);
});

test('parent locks: parallel bulk batches sharing an Account, and collections', async () => {
  const conn = await connect(slow);
  const a = (await conn.sobject('Account').create({ Name: 'A' })).id;
  const b = (await conn.sobject('Account').create({ Name: 'B' })).id;
  const load = (rows) =>
    conn.bulk2.loadAndWaitForResults({
      object: 'Contact',
      operation: 'upsert',
      externalIdFieldName: 'Sluice_Key__c',
      input: rows.map(([key, account]) => ({ Sluice_Key__c: key, LastName: 'x', AccountId: account })),
      pollInterval: 200,
      pollTimeout: 60000,
    });
  // Interleaved parents: both parallel batches hold A and B; the second waits 2 s > 1 s and fails.
  const mixed = await load([['m1', a], ['m2', b], ['m3', a], ['m4', b]]);
  assert.equal(mixed.failedResults.length, 2);
  for (const f of mixed.failedResults) {
    assert.match(f.sf__Error, /^UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record/);
  }
  // Sorted and grouped by parent: each batch holds one parent, no contention.
  const sorted = await load([['s1', a], ['s2', a], ['s3', b], ['s4', b]]);
  assert.equal(sorted.failedResults.length, 0);
  assert.equal(sorted.successfulResults.length, 4);

  // Collections: two concurrent requests with children of A, each taking 1.5 s: the later one
  // waits past the 1 s lock timeout.
  await admin(slow, 'POST', '/sim/faults', { kind: 'latency', base_ms: 1500 });
  const upsert = (key) =>
    conn.sobject('Contact').upsert([{ Sluice_Key__c: key, LastName: 'x', AccountId: a }], 'Sluice_Key__c', {
      allOrNone: false,
    });
  const results = (await Promise.all([upsert('c1'), upsert('c2')])).map((r) => r[0]);
  await admin(slow, 'POST', '/sim/faults', { kind: 'latency', base_ms: 0 });
  const failed = results.filter((r) => !r.success);
  assert.equal(failed.length, 1, JSON.stringify(results));
  assert.equal(failed[0].errors[0].statusCode, 'UNABLE_TO_LOCK_ROW');
  assert.ok(failed[0].errors[0].message.includes(a.slice(0, 15)));
  const stats = await admin(slow, 'GET', '/sim/stats');
  assert.equal(stats.parent_lock_timeouts, 3);
});
