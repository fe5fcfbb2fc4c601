#!/usr/bin/env node
// Real-client check of a Cairn server with mongosh, the MongoDB shell.
//
// Usage: node mongosh-check.js [mongodb://127.0.0.1:27017]   (or $MONGODB_URI)
//
// It runs the locally installed mongosh (node_modules/.bin/mongosh) once
// with --quiet --eval against the URI. The shell script does each step in
// its own try/catch and prints one JSON line with every step's result or
// error; this wrapper verifies the results and prints "ok <name>" or
// "FAILED <name>: <detail>" per check, then "<N> passed, <M> failed". The
// exit status is 1 when any check failed. The shell works in its own
// database, cairn_mongosh_check, which it drops before and after.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const uri = process.argv[2] || process.env.MONGODB_URI;
if (!uri) {
  console.error('usage: node mongosh-check.js <mongodb-uri>   (or set MONGODB_URI)');
  process.exit(2);
}

const MONGOSH = path.join(__dirname, 'node_modules', '.bin', 'mongosh');
const TIMEOUT_MS = Number(process.env.MONGOSH_TIMEOUT_MS || 90000);
const MARKER = 'CAIRN_MONGOSH_RESULT ';

// The script mongosh evaluates. Each step stores {value} or {error}.
const SCRIPT = `
const out = {};
function step(name, fn) {
  try {
    out[name] = { value: fn() };
  } catch (e) {
    out[name] = { error: { name: e.name, code: e.code, codeName: e.codeName, message: String(e.message) } };
  }
}
const d = db.getSiblingDB('cairn_mongosh_check');
step('cleanup', () => d.dropDatabase().ok);
step('insertOne', () => {
  const r = d.items.insertOne({ name: 'shell-one', when: new Date(0) });
  return { acknowledged: r.acknowledged, idIsObjectId: r.insertedId instanceof ObjectId,
           found: d.items.findOne({ _id: r.insertedId }, { _id: 0 }) };
});
step('insertMany', () => {
  const docs = [];
  for (let n = 0; n < 50; n++) docs.push({ n: n, even: n % 2 === 0 });
  const r = d.items.insertMany(docs);
  return { acknowledged: r.acknowledged, ids: Object.keys(r.insertedIds).length };
});
step('find', () => d.items.find({ n: { $gte: 45 } }, { _id: 0, n: 1 }).sort({ n: -1 }).toArray());
step('find.limit.skip', () => d.items.find({ even: true }).sort({ n: 1 }).skip(2).limit(3).toArray().map((x) => x.n));
step('findOne', () => d.items.findOne({ n: { $lt: 1 } }, { _id: 0 }));
step('countDocuments', () => d.items.countDocuments());
step('countDocuments filter', () => d.items.countDocuments({ even: true }));
step('aggregate', () => d.items.aggregate([
  { $match: { n: { $exists: true } } },
  { $group: { _id: '$even', total: { $sum: '$n' }, c: { $sum: 1 } } },
  { $sort: { _id: 1 } },
]).toArray());
step('updateOne', () => {
  const r = d.items.updateOne({ n: 3 }, { $set: { touched: true } });
  return { matched: r.matchedCount, modified: r.modifiedCount, doc: d.items.findOne({ n: 3 }, { _id: 0 }) };
});
step('deleteMany', () => d.items.deleteMany({ n: { $gte: 40 } }).deletedCount);
step('getCollectionNames', () => d.getCollectionNames());
step('createIndex+getIndexes', () => {
  const name = d.items.createIndex({ n: 1 }, { unique: true });
  return { name: name, indexes: d.items.getIndexes().map((ix) => [ix.name, ix.unique === true]) };
});
// Counters may be int32, int64 (Long) or double depending on the server.
const num = (x) => (x !== null && typeof x === 'object' && typeof x.toNumber === 'function' ? x.toNumber() : x);
step('db.stats', () => { const s = d.stats(); return { ok: s.ok, collections: num(s.collections), objects: num(s.objects) }; });
step('collection.stats', () => { const s = d.items.stats(); return { ok: s.ok, count: num(s.count) }; });
step('getDBNames', () => db.getMongo().getDBNames().includes('cairn_mongosh_check'));
step('serverStatus', () => { const s = db.serverStatus(); return { ok: s.ok, hasUptime: typeof s.uptime === 'number' }; });
step('buildInfo.version', () => db.runCommand({ buildInfo: 1 }).version);
step('db.version', () => db.version());
step('unknown command', () => {
  let r;
  try {
    r = d.runCommand({ cairnNoSuchCommand: 1 });
  } catch (e) {
    return { threw: true, code: e.code, codeName: e.codeName };
  }
  return { threw: false, ok: r.ok, code: r.code, codeName: r.codeName };
});
step('dropDatabase', () => d.dropDatabase().ok);
print(${JSON.stringify(MARKER)} + JSON.stringify(out));
`;

let passed = 0;
let failed = 0;

function ok(name) {
  passed++;
  console.log(`ok ${name}`);
}

function fail(name, detail) {
  failed++;
  console.log(`FAILED ${name}: ${String(detail).replace(/\s*\n\s*/g, ' ')}`);
}

function finish() {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

function errorText(e) {
  const parts = [e.name || 'Error'];
  if (e.code !== undefined && e.code !== null) parts.push(`code=${e.code}`);
  if (e.codeName) parts.push(`codeName=${e.codeName}`);
  return `${parts.join(' ')}: ${e.message}`;
}

if (!fs.existsSync(MONGOSH)) {
  fail('mongosh installed', `${MONGOSH} missing; run npm ci in ${__dirname}`);
  finish();
}

// A private HOME keeps mongosh's logs and history out of the user's home.
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-mongosh-home-'));
let run;
try {
  run = spawnSync(MONGOSH, ['--quiet', '--norc', '--eval', SCRIPT, uri], {
    encoding: 'utf8',
    timeout: TIMEOUT_MS,
    env: { ...process.env, HOME: home },
  });
} finally {
  fs.rmSync(home, { recursive: true, force: true });
}

const oneLine = (s) => (s || '').trim().split('\n').slice(-5).join(' | ');
if (run.error) {
  fail('mongosh run', `${run.error.message}; stderr: ${oneLine(run.stderr)}`);
  finish();
}
const line = (run.stdout || '').split('\n').find((l) => l.startsWith(MARKER));
if (run.status !== 0 || !line) {
  fail('mongosh run', `exit status ${run.status}, signal ${run.signal}; stdout: ${oneLine(run.stdout)}; stderr: ${oneLine(run.stderr)}`);
  finish();
}
ok('mongosh run (connect + --eval)');

let results;
try {
  results = JSON.parse(line.slice(MARKER.length));
} catch (e) {
  fail('mongosh output is JSON', `${e.message}: ${line}`);
  finish();
}

// verify checks one step: it must have a value, and want(value) returns
// null when it is right or a description of what is wrong.
function verify(name, want) {
  const r = results[name];
  if (!r) return fail(name, 'no result printed');
  if (r.error) return fail(name, errorText(r.error));
  let problem;
  try {
    problem = want(r.value);
  } catch (e) {
    problem = `${e.message}; value ${JSON.stringify(r.value)}`;
  }
  if (problem) return fail(name, problem);
  return ok(name);
}

function same(expected) {
  return (v) => (JSON.stringify(v) === JSON.stringify(expected)
    ? null
    : `got ${JSON.stringify(v)}, want ${JSON.stringify(expected)}`);
}

verify('cleanup', same(1));
verify('insertOne', same({ acknowledged: true, idIsObjectId: true,
  found: { name: 'shell-one', when: new Date(0).toISOString() } }));
verify('insertMany', same({ acknowledged: true, ids: 50 }));
verify('find', same([{ n: 49 }, { n: 48 }, { n: 47 }, { n: 46 }, { n: 45 }]));
verify('find.limit.skip', same([4, 6, 8]));
verify('findOne', same({ n: 0, even: true }));
verify('countDocuments', same(51));
verify('countDocuments filter', same(25));
verify('aggregate', same([{ _id: false, total: 625, c: 25 }, { _id: true, total: 600, c: 25 }]));
verify('updateOne', same({ matched: 1, modified: 1, doc: { n: 3, even: false, touched: true } }));
verify('deleteMany', same(10));
verify('getCollectionNames', same(['items']));
verify('createIndex+getIndexes', same({ name: 'n_1', indexes: [['_id_', false], ['n_1', true]] }));
verify('db.stats', same({ ok: 1, collections: 1, objects: 41 }));
verify('collection.stats', same({ ok: 1, count: 41 }));
verify('getDBNames', same(true));
verify('serverStatus', same({ ok: 1, hasUptime: true }));
verify('buildInfo.version', (v) => (typeof v === 'string' && /^\d+\.\d+\.\d+/.test(v)
  ? null : `got ${JSON.stringify(v)}, want a version string like "7.0.0"`));
verify('db.version', (v) => (v === results['buildInfo.version'].value
  ? null : `got ${JSON.stringify(v)}, want buildInfo.version ${JSON.stringify(results['buildInfo.version'].value)}`));
verify('unknown command', (v) => {
  if (v.code === 59 && v.codeName === 'CommandNotFound' && (v.threw || v.ok === 0)) return null;
  return `got ${JSON.stringify(v)}, want code 59 CommandNotFound`;
});
verify('dropDatabase', same(1));
finish();
