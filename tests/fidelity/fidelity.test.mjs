// Fidelity: a real Salesforce client library (jsforce 3.10.14) drives a real sluice-sfsim process.
// If jsforce accepts sfsim's answers as Salesforce's, relay code tested against sfsim is tested
// against the formats it will meet in production.
//
// Run: SFSIM_BIN=build/bin/sluice-sfsim node --test fidelity.test.mjs (CTest does this).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jsforce from 'jsforce';

const BIN = process.env.SFSIM_BIN;
const CLIENT_ID = 'sluice-sfsim-client';
const CLIENT_SECRET = 'sluice-sfsim-secret';
const USERNAME = 'sluice@example.com';
const VERSION = '62.0';

let proc;
let baseUrl;
let tmpDir;
let privateKey;

function waitForListening(child) {
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

before(async () => {
  assert.ok(BIN, 'SFSIM_BIN must name the sluice-sfsim binary');
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfsim-fidelity-'));
  const pair = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  privateKey = pair.privateKey;
  const publicPath = path.join(tmpDir, 'public.pem');
  fs.writeFileSync(publicPath, pair.publicKey.export({ type: 'spki', format: 'pem' }));
  proc = spawn(BIN, ['--port', '0', '--jwt-public-key', publicPath, '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  baseUrl = await waitForListening(proc);
});

after(async () => {
  if (proc && proc.exitCode === null) {
    const exited = new Promise((resolve) => proc.on('exit', resolve));
    proc.kill('SIGTERM');
    await exited;
  }
  fs.rmSync(tmpDir, { recursive: true, force: true });
});

// Client-credentials connection whose refresh (on 401) re-authorizes, counting refreshes.
async function connect() {
  const counter = { refreshes: 0 };
  const conn = new jsforce.Connection({
    oauth2: { loginUrl: baseUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
    version: VERSION,
    refreshFn: async (c, callback) => {
      counter.refreshes += 1;
      try {
        const res = await c.oauth2.requestToken({ grant_type: 'client_credentials' });
        c._establish({ instanceUrl: res.instance_url, accessToken: res.access_token });
        callback(undefined, res.access_token, res);
      } catch (err) {
        callback(err);
      }
    },
  });
  await conn.authorize({ grant_type: 'client_credentials' });
  return { conn, counter };
}

function base64url(data) {
  return Buffer.from(data).toString('base64url');
}

function jwtAssertion(claims, key = privateKey) {
  const input = `${base64url(JSON.stringify({ alg: 'RS256' }))}.${base64url(JSON.stringify(claims))}`;
  const signature = crypto.sign('RSA-SHA256', Buffer.from(input), key);
  return `${input}.${signature.toString('base64url')}`;
}

async function admin(method, p, body) {
  const res = await fetch(baseUrl + p, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.equal(res.status, 200, `${method} ${p}`);
  return res.json();
}

test('authorize with client credentials', async () => {
  const conn = new jsforce.Connection({
    oauth2: { loginUrl: baseUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
    version: VERSION,
  });
  const userInfo = await conn.authorize({ grant_type: 'client_credentials' });
  assert.equal(userInfo.organizationId, '00D5g00000SLUICEA5');
  assert.equal(userInfo.id, '0055g00000SLUICAA5');
  assert.equal(conn.instanceUrl, baseUrl);
  assert.match(conn.accessToken, /^00D5g00000SLUIC!AR/);
  const bad = new jsforce.Connection({
    oauth2: { loginUrl: baseUrl, clientId: CLIENT_ID, clientSecret: 'wrong' },
    version: VERSION,
  });
  await assert.rejects(bad.authorize({ grant_type: 'client_credentials' }), /invalid_client/);
});

test('authorize with a JWT bearer assertion signed by the test', async () => {
  const conn = new jsforce.Connection({ oauth2: { loginUrl: baseUrl }, version: VERSION });
  const exp = Math.floor(Date.now() / 1000) + 120;
  const userInfo = await conn.authorize({
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    assertion: jwtAssertion({ iss: CLIENT_ID, sub: USERNAME, aud: 'https://login.salesforce.com', exp }),
  });
  assert.equal(userInfo.organizationId, '00D5g00000SLUICEA5');
  const limits = await conn.limits();
  assert.ok(limits.DailyApiRequests.Max > 0);
  // Signed with another key: refused.
  const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const stranger = new jsforce.Connection({ oauth2: { loginUrl: baseUrl }, version: VERSION });
  await assert.rejects(
    stranger.authorize({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: jwtAssertion({ iss: CLIENT_ID, sub: USERNAME, aud: baseUrl, exp }, other),
    }),
    /invalid_grant/,
  );
  // Expired: refused.
  await assert.rejects(
    stranger.authorize({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: jwtAssertion({ iss: CLIENT_ID, sub: USERNAME, aud: baseUrl, exp: exp - 3600 }),
    }),
    /invalid_grant/,
  );
});

test('create', async () => {
  const { conn } = await connect();
  const ret = await conn.sobject('Contact').create({ LastName: 'Fidelity' });
  assert.equal(ret.success, true);
  assert.match(ret.id, /^003[A-Za-z0-9]{15}$/);
  assert.deepEqual(ret.errors, []);
});

test('single upsert: created, then updated', async () => {
  const { conn } = await connect();
  const created = await conn
    .sobject('Contact')
    .upsert({ LastName: 'Up', Sluice_Key__c: 'fid-up-1' }, 'Sluice_Key__c');
  assert.equal(created.success, true);
  assert.equal(created.created, true);
  const updated = await conn
    .sobject('Contact')
    .upsert({ FirstName: 'Again', Sluice_Key__c: 'fid-up-1' }, 'Sluice_Key__c');
  assert.equal(updated.success, true);
  assert.equal(updated.created, false);
  assert.equal(updated.id, created.id);
});

test('collection upsert of 200 records, some failing validation', async () => {
  const { conn } = await connect();
  const records = [];
  for (let i = 0; i < 200; i++) {
    const r = { Sluice_Key__c: `fid-coll-${i}`, Sluice_Event_Id__c: `ev-${i}` };
    if (i % 10 !== 3) r.LastName = `L${i}`;  // every 10th misses the required LastName
    if (i % 50 === 7) r.Email = 'x'.repeat(100);  // too long
    records.push(r);
  }
  const results = await conn.sobject('Contact').upsert(records, 'Sluice_Key__c', { allOrNone: false });
  assert.equal(results.length, 200);
  results.forEach((r, i) => {
    if (i % 10 === 3) {
      assert.equal(r.success, false, `record ${i}`);
      assert.equal(r.errors[0].statusCode, 'REQUIRED_FIELD_MISSING');
      assert.deepEqual(r.errors[0].fields, ['LastName']);
    } else if (i % 50 === 7) {
      assert.equal(r.success, false);
      assert.equal(r.errors[0].statusCode, 'STRING_TOO_LONG');
    } else {
      assert.equal(r.success, true, `record ${i}: ${JSON.stringify(r)}`);
      assert.equal(r.created, true);
    }
  });
  // allOrNone: one failure rolls back all.
  const aon = await conn.sobject('Contact').upsert(
    [
      { Sluice_Key__c: 'fid-aon-1', LastName: 'A' },
      { Sluice_Key__c: 'fid-aon-2' },
    ],
    'Sluice_Key__c',
    { allOrNone: true },
  );
  assert.equal(aon[0].success, false);
  assert.equal(aon[0].errors[0].statusCode, 'ALL_OR_NONE_OPERATION_ROLLED_BACK');
  assert.equal(aon[1].errors[0].statusCode, 'REQUIRED_FIELD_MISSING');
});

test('error objects carry the right errorCode', async () => {
  const { conn } = await connect();
  await assert.rejects(conn.sobject('Contact').create({ FirstName: 'NoLast' }), (err) => {
    assert.equal(err.errorCode, 'REQUIRED_FIELD_MISSING');
    return true;
  });
  await assert.rejects(conn.sobject('Contact').create({ LastName: 'x', Nope__c: 1 }), (err) => {
    assert.equal(err.errorCode, 'INVALID_FIELD');
    return true;
  });
  await assert.rejects(
    conn.sobject('Account').create({ Name: 'x', NumberOfEmployees: 'many' }),
    (err) => {
      assert.equal(err.errorCode, 'INVALID_TYPE_ON_FIELD_IN_RECORD');
      return true;
    },
  );
  await assert.rejects(conn.sobject('Contact').create({ LastName: 'x', AccountId: 'bogus' }), (err) => {
    assert.equal(err.errorCode, 'MALFORMED_ID');
    return true;
  });
  await conn.sobject('Contact').create({ LastName: 'd', Sluice_Key__c: 'fid-dup' });
  await assert.rejects(conn.sobject('Contact').create({ LastName: 'd', Sluice_Key__c: 'fid-dup' }), (err) => {
    assert.equal(err.errorCode, 'DUPLICATE_VALUE');
    return true;
  });
  await assert.rejects(conn.sobject('Nope__c').create({ Name: 'x' }), (err) => {
    assert.equal(err.errorCode, 'NOT_FOUND');
    return true;
  });
});

test('a forced token expiry is recovered by refreshing once', async () => {
  const { conn, counter } = await connect();
  const before = conn.accessToken;
  await admin('POST', '/sim/faults', { kind: 'expire_tokens' });
  const ret = await conn.sobject('Contact').create({ LastName: 'AfterExpiry' });
  assert.equal(ret.success, true);
  assert.equal(counter.refreshes, 1);
  assert.notEqual(conn.accessToken, before);
  // The new token keeps working without further refreshes.
  await conn.sobject('Contact').create({ LastName: 'StillFine' });
  assert.equal(counter.refreshes, 1);
});

test('platform event publish passes OPERATION_ENQUEUED through', async () => {
  const { conn } = await connect();
  const ret = await conn.sobject('Sluice_Event__e').create({ Sluice_Event_Id__c: 'fid-evt-1', Payload__c: '{}' });
  assert.equal(ret.success, true);
  assert.match(ret.id, /^e01/);
  assert.equal(ret.errors[0].statusCode, 'OPERATION_ENQUEUED');
  assert.match(ret.errors[0].message, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('/limits', async () => {
  const { conn } = await connect();
  const limits = await conn.limits();
  assert.equal(limits.DailyApiRequests.Max, 100000);
  assert.ok(limits.DailyApiRequests.Remaining < 100000);
  assert.ok(limits.DailyApiRequests.Remaining > 0);
  const stats = await admin('GET', '/sim/stats');
  assert.equal(stats.api_usage.used, 100000 - limits.DailyApiRequests.Remaining);
});
