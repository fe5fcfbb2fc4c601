#!/usr/bin/env node
// Real-client check of a Cairn server with the official MongoDB Node.js
// driver.
//
// Usage: node check.js [mongodb://127.0.0.1:27017]   (or $MONGODB_URI)
//
// Every check prints one line, "ok <name>" or "FAILED <name>: <detail>",
// and the run ends with "<N> passed, <M> failed". The exit status is 1 when
// any check failed. The check works in its own database, cairn_node_check,
// which it drops first (leftovers of an earlier run) and at the end.
'use strict';

const crypto = require('node:crypto');
const net = require('node:net');
const { Readable } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const {
  MongoClient, ObjectId, GridFSBucket, MongoServerError, MongoBulkWriteError,
  Binary, Decimal128, Double, Int32, Long, MaxKey, MinKey, UUID,
} = require('mongodb');

const uri = process.argv[2] || process.env.MONGODB_URI;
if (!uri) {
  console.error('usage: node check.js <mongodb-uri>   (or set MONGODB_URI)');
  process.exit(2);
}

const DB_NAME = 'cairn_node_check';
const CHECK_TIMEOUT_MS = Number(process.env.CHECK_TIMEOUT_MS || 30000);
const N = 2000;

let passed = 0;
let failed = 0;

// describe turns anything thrown into a one-line detail that keeps what a
// server bug report needs: the class, server code and codeName, message.
function describe(err) {
  if (!(err instanceof Error)) return String(err);
  const parts = [err.name];
  if (err.code !== undefined) parts.push(`code=${err.code}`);
  if (err.codeName) parts.push(`codeName=${err.codeName}`);
  let msg = `${parts.join(' ')}: ${err.message}`;
  if (err.cause && err.cause !== err) msg += ` (cause: ${describe(err.cause)})`;
  return msg.replace(/\s*\n\s*/g, ' ');
}

class CheckError extends Error {
  constructor(message) {
    super(message);
    this.name = 'CheckError';
  }
}

function assert(cond, message) {
  if (!cond) throw new CheckError(message);
}

function assertEq(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new CheckError(`${what}: got ${a}, want ${e}`);
}

function withTimeout(promise, ms) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new CheckError(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function check(name, fn) {
  try {
    await withTimeout(Promise.resolve().then(fn), CHECK_TIMEOUT_MS);
    passed++;
    console.log(`ok ${name}`);
    return true;
  } catch (err) {
    failed++;
    console.log(`FAILED ${name}: ${describe(err)}`);
    return false;
  }
}

// expectServerError runs fn, which must fail with a server error of the
// given code, and returns that error.
async function expectServerError(fn, code, what) {
  let result;
  try {
    result = await fn();
  } catch (err) {
    if (!(err instanceof MongoServerError)) {
      throw new CheckError(`${what}: want server error code ${code}, got ${describe(err)}`);
    }
    if (err.code !== code) {
      throw new CheckError(`${what}: want code ${code}, got ${describe(err)}`);
    }
    return err;
  }
  throw new CheckError(`${what}: want server error code ${code}, but it succeeded: ${JSON.stringify(result)}`);
}

// firstHost returns the first host:port of a mongodb:// URI.
function firstHost(connectionString) {
  const m = /^mongodb:\/\/(?:[^@/]*@)?([^/?,]+)/.exec(connectionString);
  if (!m) throw new CheckError(`cannot parse a host out of ${connectionString}`);
  const hp = m[1];
  const idx = hp.lastIndexOf(':');
  if (idx < 0 || hp.endsWith(']')) return { host: hp.replace(/^\[|\]$/g, ''), port: 27017 };
  return { host: hp.slice(0, idx).replace(/^\[|\]$/g, ''), port: Number(hp.slice(idx + 1)) };
}

// startOpcodeProxy listens on a loopback port, forwards every connection
// to host:port and counts the opcode of each wire message per direction.
function startOpcodeProxy(host, port) {
  const toServer = new Map();
  const toClient = new Map();
  const sockets = new Set();
  const counter = (counts) => {
    let buf = Buffer.alloc(0);
    return (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 16) {
        const len = buf.readInt32LE(0);
        if (len < 16 || buf.length < len) break;
        const op = buf.readInt32LE(12);
        counts.set(op, (counts.get(op) || 0) + 1);
        buf = buf.subarray(len);
      }
    };
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(port, host);
    sockets.add(client);
    sockets.add(upstream);
    const countUp = counter(toServer);
    const countDown = counter(toClient);
    client.on('data', (d) => { countUp(d); upstream.write(d); });
    upstream.on('data', (d) => { countDown(d); client.write(d); });
    const end = () => { client.destroy(); upstream.destroy(); };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({
      port: server.address().port,
      toServer,
      toClient,
      close: () => new Promise((done) => {
        for (const sock of sockets) sock.destroy();
        server.close(() => done());
      }),
    }));
  });
}

async function main() {
  const commands = [];
  const client = new MongoClient(uri, {
    appName: 'cairn-node-check',
    serverSelectionTimeoutMS: 5000,
    connectTimeoutMS: 5000,
    socketTimeoutMS: CHECK_TIMEOUT_MS,
    monitorCommands: true,
  });
  client.on('commandStarted', (ev) => commands.push(ev.commandName));

  const connected = await check('connect', async () => {
    await client.connect();
  });
  if (!connected) {
    // Nothing else can work; do not wait for a server selection timeout
    // per check.
    console.log(`${passed} passed, ${failed} failed`);
    await client.close(true).catch(() => {});
    return 1;
  }

  const db = client.db(DB_NAME);
  const coll = db.collection('docs');
  let firstId;

  await check('cleanup before run (dropDatabase)', async () => {
    await db.dropDatabase();
  });

  await check('ping', async () => {
    const res = await client.db('admin').command({ ping: 1 });
    assertEq(res.ok, 1, 'ping ok');
  });

  await check('hello', async () => {
    const res = await client.db('admin').command({ hello: 1 });
    assertEq(res.ok, 1, 'hello ok');
    assertEq(res.isWritablePrimary, true, 'hello isWritablePrimary');
    assert(typeof res.maxWireVersion === 'number' && res.maxWireVersion >= 8,
      `hello maxWireVersion: got ${res.maxWireVersion}, want >= 8`);
    assert(res.maxBsonObjectSize > 0, `hello maxBsonObjectSize: got ${res.maxBsonObjectSize}`);
    assert(res.maxMessageSizeBytes > 0, `hello maxMessageSizeBytes: got ${res.maxMessageSizeBytes}`);
    assert(res.localTime instanceof Date, `hello localTime: got ${JSON.stringify(res.localTime)}`);
  });

  await check('insertOne (driver-generated ObjectId)', async () => {
    const res = await coll.insertOne({ name: 'first', tags: ['a', 'b'], nested: { x: 1 } });
    assert(res.acknowledged, 'insertOne not acknowledged');
    assert(res.insertedId instanceof ObjectId, `insertedId is not an ObjectId: ${res.insertedId}`);
    firstId = res.insertedId;
    const got = await coll.findOne({ _id: firstId });
    assert(got, 'findOne by _id found nothing');
    assert(got._id instanceof ObjectId && got._id.equals(firstId), `_id round trip: got ${got._id}`);
    assertEq(got.name, 'first', 'name');
    assertEq(got.tags, ['a', 'b'], 'tags');
    assertEq(got.nested, { x: 1 }, 'nested');
  });

  await check(`insertMany ${N}`, async () => {
    const docs = [];
    for (let i = 0; i < N; i++) {
      docs.push({ i, group: i % 10, val: i * 2, label: `doc-${i}` });
    }
    const res = await coll.insertMany(docs);
    assertEq(res.insertedCount, N, 'insertedCount');
    assertEq(Object.keys(res.insertedIds).length, N, 'insertedIds length');
  });

  await check('findOne with $lt', async () => {
    const got = await coll.findOne({ i: { $lt: 3 } }, { sort: { i: -1 } });
    assert(got, 'findOne found nothing');
    assertEq(got.i, 2, 'i');
    const none = await coll.findOne({ i: { $lt: 0 } });
    assertEq(none, null, 'findOne {i: {$lt: 0}}');
  });

  await check('find with sort/skip/limit toArray', async () => {
    const docs = await coll.find({ i: { $gte: 0 } }).sort({ i: -1 }).skip(10).limit(5).toArray();
    assertEq(docs.map((d) => d.i), [1989, 1988, 1987, 1986, 1985], 'i values');
    const proj = await coll.find({ group: 3 }, { projection: { _id: 0, i: 1 } }).sort({ i: 1 }).limit(3).toArray();
    assertEq(proj, [{ i: 3 }, { i: 13 }, { i: 23 }], 'projected docs');
  });

  await check('cursor across getMore batches (batchSize 100)', async () => {
    const before = commands.filter((c) => c === 'getMore').length;
    const cursor = coll.find({ i: { $exists: true } }).sort({ i: 1 }).batchSize(100);
    let count = 0;
    let expect = 0;
    for await (const doc of cursor) {
      assert(doc.i === expect, `document ${count}: got i=${doc.i}, want ${expect}`);
      expect++;
      count++;
    }
    assertEq(count, N, 'documents iterated');
    const getMores = commands.filter((c) => c === 'getMore').length - before;
    assert(getMores >= 19, `getMore commands: got ${getMores}, want >= 19`);
  });

  await check('cursor close kills server cursor (killCursors)', async () => {
    const cursor = coll.find({}).batchSize(10);
    const first = await cursor.next();
    assert(first, 'first document missing');
    await cursor.close();
  });

  await check('countDocuments without filter', async () => {
    assertEq(await coll.countDocuments(), N + 1, 'countDocuments()');
  });

  await check('countDocuments with filter', async () => {
    assertEq(await coll.countDocuments({ group: 3 }), N / 10, 'countDocuments({group: 3})');
    assertEq(await coll.countDocuments({ i: { $lt: 50 } }, { skip: 10, limit: 5 }), 5,
      'countDocuments({i: {$lt: 50}}, {skip: 10, limit: 5})');
  });

  await check('estimatedDocumentCount', async () => {
    assertEq(await coll.estimatedDocumentCount(), N + 1, 'estimatedDocumentCount()');
  });

  await check('replaceOne keeping _id', async () => {
    const res = await coll.replaceOne({ _id: firstId }, { name: 'replaced', v: 2 });
    assertEq([res.matchedCount, res.modifiedCount], [1, 1], '[matchedCount, modifiedCount]');
    const got = await coll.findOne({ _id: firstId });
    assert(got, 'replaced document not found by its _id');
    assertEq({ ...got, _id: got._id.toHexString() }, { _id: firstId.toHexString(), name: 'replaced', v: 2 },
      'replaced document');
  });

  await check('updateOne $set', async () => {
    const res = await coll.updateOne({ i: 7 }, { $set: { flag: true, 'sub.a': 1 } });
    assertEq([res.matchedCount, res.modifiedCount], [1, 1], '[matchedCount, modifiedCount]');
    const got = await coll.findOne({ i: 7 });
    assertEq([got.flag, got.sub], [true, { a: 1 }], '[flag, sub]');
    assertEq(await coll.countDocuments({ flag: true }), 1, 'documents with flag');
  });

  await check('updateMany $inc', async () => {
    const res = await coll.updateMany({ group: 1 }, { $inc: { val: 100 } });
    assertEq([res.matchedCount, res.modifiedCount], [N / 10, N / 10], '[matchedCount, modifiedCount]');
    const got = await coll.findOne({ i: 11 });
    assertEq(got.val, 11 * 2 + 100, 'val of i=11');
    const untouched = await coll.findOne({ i: 12 });
    assertEq(untouched.val, 12 * 2, 'val of i=12');
  });

  await check('upsert', async () => {
    const res = await coll.updateOne({ key: 'up1' }, { $set: { v: 1 } }, { upsert: true });
    assertEq([res.matchedCount, res.modifiedCount, res.upsertedCount], [0, 0, 1],
      '[matchedCount, modifiedCount, upsertedCount]');
    assert(res.upsertedId instanceof ObjectId, `upsertedId: got ${JSON.stringify(res.upsertedId)}`);
    const got = await coll.findOne({ key: 'up1' });
    assert(got, 'upserted document not found');
    assert(got._id.equals(res.upsertedId), `upserted _id ${got._id} != upsertedId ${res.upsertedId}`);
    assertEq(got.v, 1, 'v');
    const again = await coll.updateOne({ key: 'up1' }, { $set: { v: 2 } }, { upsert: true });
    assertEq([again.matchedCount, again.modifiedCount, again.upsertedCount], [1, 1, 0],
      'second upsert [matchedCount, modifiedCount, upsertedCount]');
    assertEq(again.upsertedId, null, 'second upsert upsertedId');
  });

  await check('findOneAndUpdate returnDocument after', async () => {
    const doc = await coll.findOneAndUpdate({ i: 8 }, { $inc: { val: 1 } }, { returnDocument: 'after' });
    assert(doc, 'findOneAndUpdate returned null');
    assertEq([doc.i, doc.val], [8, 17], '[i, val]');
    const before = await coll.findOneAndUpdate({ i: 8 }, { $set: { val: 0 } }, { returnDocument: 'before' });
    assertEq(before && before.val, 17, 'returnDocument before: val');
    const missing = await coll.findOneAndUpdate({ i: -1 }, { $set: { x: 1 } }, { returnDocument: 'after' });
    assertEq(missing, null, 'no match');
  });

  await check('deleteMany', async () => {
    const res = await coll.deleteMany({ group: 9 });
    assertEq(res.deletedCount, N / 10, 'deletedCount');
    assertEq(await coll.countDocuments({ group: 9 }), 0, 'remaining group 9');
    const one = await coll.deleteOne({ key: 'up1' });
    assertEq(one.deletedCount, 1, 'deleteOne deletedCount');
  });

  await check('distinct', async () => {
    const groups = (await coll.distinct('group')).sort((a, b) => a - b);
    assertEq(groups, [0, 1, 2, 3, 4, 5, 6, 7, 8], 'distinct group');
    const filtered = (await coll.distinct('i', { i: { $lt: 5 } })).sort((a, b) => a - b);
    assertEq(filtered, [0, 1, 2, 3, 4], 'distinct i with filter');
  });

  await check('aggregate ($match/$group/$sort)', async () => {
    const res = await coll.aggregate([
      { $match: { group: { $lt: 3 } } },
      { $group: { _id: '$group', n: { $sum: 1 }, maxI: { $max: '$i' } } },
      { $sort: { _id: -1 } },
    ]).toArray();
    assertEq(res, [
      { _id: 2, n: 200, maxI: 1992 },
      { _id: 1, n: 200, maxI: 1991 },
      { _id: 0, n: 200, maxI: 1990 },
    ], 'aggregate result');
  });

  await check('aggregate cursor with batchSize (getMore)', async () => {
    const docs = await coll.aggregate([{ $match: { group: 0 } }, { $sort: { i: 1 } }], { batchSize: 50 }).toArray();
    assertEq(docs.length, N / 10, 'documents');
    assertEq(docs[199].i, 1990, 'last i');
  });

  await check('createIndex unique + duplicate key error 11000', async () => {
    const uniq = db.collection('uniq');
    const name = await uniq.createIndex({ email: 1 }, { unique: true });
    assertEq(name, 'email_1', 'index name');
    const indexes = await uniq.listIndexes().toArray();
    const idx = indexes.find((ix) => ix.name === 'email_1');
    assert(idx, `email_1 missing from listIndexes: ${JSON.stringify(indexes)}`);
    assertEq(idx.unique, true, 'listIndexes email_1 unique');
    await uniq.insertOne({ email: 'a@example.com' });
    const err = await expectServerError(() => uniq.insertOne({ email: 'a@example.com' }), 11000,
      'duplicate insertOne');
    assert(/E11000|duplicate key/i.test(err.message), `duplicate key message: ${err.message}`);
    assertEq(await uniq.countDocuments(), 1, 'documents after the rejected insert');
  });

  await check('dropIndex', async () => {
    const uniq = db.collection('uniq');
    await uniq.dropIndex('email_1');
    const names = (await uniq.listIndexes().toArray()).map((ix) => ix.name);
    assertEq(names, ['_id_'], 'indexes after dropIndex');
    await uniq.insertOne({ email: 'a@example.com' });
    assertEq(await uniq.countDocuments({ email: 'a@example.com' }), 2, 'duplicates allowed after dropIndex');
  });

  await check('query operators ($in/$regex/$or/$ne/$exists/dotted path)', async () => {
    assertEq(await coll.countDocuments({ i: { $in: [1, 2, 3, 9] } }), 3, '$in (i=9 was deleted)');
    assertEq(await coll.countDocuments({ label: { $regex: '^doc-19\\d\\d$' } }), 90, '$regex');
    assertEq(await coll.countDocuments({ label: /^DOC-5$/i }), 1, 'regex literal with i flag');
    assertEq(await coll.countDocuments({ $or: [{ i: 0 }, { i: 1 }, { name: 'replaced' }] }), 3, '$or');
    assertEq(await coll.countDocuments({ group: { $ne: 0 }, i: { $lt: 20 } }), 16, '$ne');
    assertEq(await coll.countDocuments({ flag: { $exists: true } }), 1, '$exists');
    assertEq(await coll.countDocuments({ 'sub.a': 1 }), 1, 'dotted path');
  });

  await check('BSON type round trip', async () => {
    const types = db.collection('types');
    const uuid = new UUID();
    const oid = new ObjectId();
    const doc = {
      _id: 'types-1',
      str: 'héllo ✓',
      i32: new Int32(5),
      i64: Long.fromString('9007199254740993'),
      dbl: new Double(1.5),
      dec: Decimal128.fromString('1.10'),
      bool: true,
      nul: null,
      date: new Date('2024-02-29T12:34:56.789Z'),
      oid,
      bin: new Binary(Buffer.from([0, 1, 2, 255])),
      uuid,
      arr: [1, 'two', [3], { four: 4 }],
      obj: { a: { b: { c: 1 } } },
      min: new MinKey(),
      max: new MaxKey(),
    };
    await types.insertOne(doc);
    const got = await types.findOne({ _id: 'types-1' }, { promoteValues: false });
    assert(got, 'document not found');
    assertEq(Object.keys(got), Object.keys(doc), 'field order');
    assert(got.i32 instanceof Int32 && got.i32.value === 5, `i32: ${got.i32 && got.i32.constructor.name} ${got.i32}`);
    assert(got.i64 instanceof Long && got.i64.toString() === '9007199254740993', `i64: ${got.i64 && got.i64.constructor.name} ${got.i64}`);
    assert(got.dbl instanceof Double && got.dbl.value === 1.5, `dbl: ${got.dbl && got.dbl.constructor.name} ${got.dbl}`);
    assert(got.dec instanceof Decimal128 && got.dec.toString() === '1.10', `dec: ${got.dec}`);
    assertEq(got.date.toISOString(), doc.date.toISOString(), 'date');
    assert(got.oid.equals(oid), `oid: ${got.oid}`);
    assert(got.bin.sub_type === 0 && Buffer.from(got.bin.buffer).equals(Buffer.from([0, 1, 2, 255])), `bin: ${JSON.stringify(got.bin)}`);
    assert(got.uuid.sub_type === 4 && Buffer.from(got.uuid.buffer).equals(Buffer.from(uuid.buffer)), `uuid: ${JSON.stringify(got.uuid)}`);
    assert(got.min instanceof MinKey && got.max instanceof MaxKey, 'min/max keys');
    const plain = await types.findOne({ _id: 'types-1' });
    assertEq([plain.str, plain.bool, plain.nul, plain.arr, plain.obj],
      [doc.str, true, null, doc.arr, doc.obj], '[str, bool, nul, arr, obj]');
    assertEq(await types.countDocuments({ i32: { $type: 'int' }, i64: { $type: 'long' }, dbl: { $type: 'double' }, dec: { $type: 'decimal' } }), 1,
      'numeric $type query');
  });

  await check('bulkWrite mixed operations', async () => {
    const bulk = db.collection('bulk');
    const res = await bulk.bulkWrite([
      { insertOne: { document: { _id: 1, a: 1 } } },
      { insertOne: { document: { _id: 2, a: 2 } } },
      { updateOne: { filter: { _id: 1 }, update: { $set: { a: 10 } } } },
      { replaceOne: { filter: { _id: 2 }, replacement: { a: 20 } } },
      { deleteOne: { filter: { _id: 1 } } },
      { updateOne: { filter: { _id: 3 }, update: { $set: { a: 3 } }, upsert: true } },
    ]);
    assertEq([res.insertedCount, res.matchedCount, res.modifiedCount, res.deletedCount, res.upsertedCount],
      [2, 2, 2, 1, 1], '[inserted, matched, modified, deleted, upserted]');
    assertEq(await bulk.find({}, { sort: { _id: 1 } }).toArray(), [{ _id: 2, a: 20 }, { _id: 3, a: 3 }], 'documents');
  });

  await check('insertMany unordered/ordered with duplicate _id', async () => {
    const bulk = db.collection('bulk');
    let err;
    try {
      await bulk.insertMany([{ _id: 10 }, { _id: 2 }, { _id: 11 }], { ordered: false });
    } catch (e) {
      err = e;
    }
    assert(err instanceof MongoBulkWriteError, `unordered: want MongoBulkWriteError, got ${err ? describe(err) : 'success'}`);
    assertEq(err.code, 11000, 'unordered code');
    assertEq(err.writeErrors.map((w) => [w.index, w.code]), [[1, 11000]], 'unordered writeErrors [index, code]');
    assertEq(err.result.insertedCount, 2, 'unordered insertedCount');
    err = undefined;
    try {
      await bulk.insertMany([{ _id: 20 }, { _id: 2 }, { _id: 21 }], { ordered: true });
    } catch (e) {
      err = e;
    }
    assert(err instanceof MongoBulkWriteError, `ordered: want MongoBulkWriteError, got ${err ? describe(err) : 'success'}`);
    assertEq(err.writeErrors.map((w) => [w.index, w.code]), [[1, 11000]], 'ordered writeErrors [index, code]');
    assertEq(err.result.insertedCount, 1, 'ordered insertedCount');
    assertEq((await bulk.distinct('_id')).sort((a, b) => a - b), [2, 3, 10, 11, 20], '_ids after both inserts');
  });

  await check('invalid update operator -> code 9 FailedToParse', async () => {
    // A write error carries index, code and errmsg only (no codeName).
    await expectServerError(() => coll.updateOne({ i: 1 }, { $bogus: { a: 1 } }), 9, '$bogus update');
    assertEq((await coll.findOne({ i: 1 })).a, undefined, 'document unchanged');
  });

  await check('renameCollection', async () => {
    const renamed = await db.collection('bulk').rename('bulk2');
    assertEq(renamed.collectionName, 'bulk2', 'renamed collection name');
    const names = (await db.listCollections().toArray()).map((c) => c.name);
    assert(names.includes('bulk2') && !names.includes('bulk'), `collections after rename: ${JSON.stringify(names)}`);
    assertEq(await db.collection('bulk2').countDocuments(), 5, 'documents after rename');
    await expectServerError(() => db.collection('bulk2').rename('types'), 48, 'rename onto an existing collection');
  });

  await check('concurrent operations over the pool', async () => {
    const ops = [];
    for (let k = 0; k < 50; k++) {
      ops.push(coll.find({ group: k % 9 }).sort({ i: 1 }).batchSize(50).toArray().then((docs) => docs.length));
      ops.push(db.collection('concurrent').insertOne({ k }));
    }
    const res = await Promise.all(ops);
    const lengths = res.filter((r) => typeof r === 'number');
    assert(lengths.every((n) => n === N / 10), `find lengths: ${JSON.stringify(lengths)}`);
    assertEq(await db.collection('concurrent').countDocuments(), 50, 'concurrent inserts');
  });

  await check('large documents (5 x 4 MB insertMany, 15 MB single document)', async () => {
    const big = db.collection('big');
    const docs = [];
    for (let k = 0; k < 5; k++) docs.push({ _id: k, pad: String.fromCharCode(97 + k).repeat(4 * 1024 * 1024) });
    const res = await big.insertMany(docs);
    assertEq(res.insertedCount, 5, 'insertedCount');
    await big.insertOne({ _id: 'huge', pad: 'z'.repeat(15 * 1024 * 1024) });
    const got = await big.find({}).sort({ _id: 1 }).toArray();
    assertEq(got.map((d) => [d._id, d.pad.length, d.pad[0]]), [
      [0, 4194304, 'a'], [1, 4194304, 'b'], [2, 4194304, 'c'], [3, 4194304, 'd'], [4, 4194304, 'e'],
      ['huge', 15728640, 'z'],
    ], '[_id, pad length, first char]');
    await big.drop();
  });

  await check('client with compressors=zlib (OP_COMPRESSED both ways)', async () => {
    // The client talks through a loopback proxy that counts the opcodes of
    // the messages in each direction.
    const target = firstHost(uri);
    const proxy = await startOpcodeProxy(target.host, target.port);
    const zclient = new MongoClient(`mongodb://127.0.0.1:${proxy.port}/?directConnection=true`, {
      compressors: ['zlib'], serverSelectionTimeoutMS: 5000, appName: 'cairn-node-check-zlib',
    });
    try {
      await zclient.connect();
      const zc = zclient.db(DB_NAME).collection('docs');
      assertEq(await zc.countDocuments({ group: 0 }), N / 10, 'countDocuments');
      const docs = await zc.find({ group: 1 }).sort({ i: 1 }).batchSize(30).toArray();
      assertEq(docs.length, N / 10, 'find over getMore');
      await zclient.db(DB_NAME).collection('zlib').insertOne({ pad: 'x'.repeat(100000) });
      assertEq((await zclient.db(DB_NAME).collection('zlib').findOne({})).pad.length, 100000, 'compressible document');
    } finally {
      await zclient.close();
      await proxy.close();
    }
    assert(proxy.toServer.get(2012) > 0 && proxy.toClient.get(2012) > 0,
      `OP_COMPRESSED not used: client->server opcodes ${JSON.stringify([...proxy.toServer])}, ` +
      `server->client opcodes ${JSON.stringify([...proxy.toClient])}`);
  });

  await check('listCollections', async () => {
    const names = (await db.listCollections().toArray()).map((c) => c.name).sort();
    for (const want of ['docs', 'uniq']) {
      assert(names.includes(want), `${want} missing from listCollections: ${JSON.stringify(names)}`);
    }
    const only = await db.listCollections({ name: 'docs' }, { nameOnly: true }).toArray();
    assertEq(only.map((c) => c.name), ['docs'], 'listCollections filtered by name');
  });

  await check('listDatabases', async () => {
    const res = await client.db('admin').admin().listDatabases();
    const names = res.databases.map((d) => d.name);
    assert(names.includes(DB_NAME), `${DB_NAME} missing from listDatabases: ${JSON.stringify(names)}`);
  });

  await check('unknown command -> 59 CommandNotFound, connection still usable', async () => {
    const err = await expectServerError(() => db.command({ cairnNoSuchCommand: 1 }), 59, 'unknown command');
    assertEq(err.codeName, 'CommandNotFound', 'codeName');
    const res = await db.command({ ping: 1 });
    assertEq(res.ok, 1, 'ping after the error');
    assertEq(await coll.countDocuments({ group: 0 }), N / 10, 'countDocuments after the error');
  });

  await check('GridFSBucket upload ~1 MB + download byte-identical', async () => {
    const bucket = new GridFSBucket(db, { bucketName: 'files' });
    const data = crypto.randomBytes(1024 * 1024 + 12345);
    const upload = bucket.openUploadStream('blob.bin', { metadata: { kind: 'random' } });
    await pipeline(Readable.from([data.subarray(0, 300000), data.subarray(300000)]), upload);
    const id = upload.id;
    const files = await bucket.find({ _id: id }).toArray();
    assertEq(files.length, 1, 'files documents');
    assertEq(files[0].length, data.length, 'files.length');
    const chunks = await db.collection('files.chunks').countDocuments({ files_id: id });
    assertEq(chunks, Math.ceil(data.length / (255 * 1024)), 'chunk documents');
    const parts = [];
    for await (const part of bucket.openDownloadStream(id)) parts.push(part);
    const got = Buffer.concat(parts);
    assertEq(got.length, data.length, 'downloaded length');
    assert(got.equals(data), 'downloaded bytes differ from uploaded bytes');
    const partsByName = [];
    for await (const part of bucket.openDownloadStreamByName('blob.bin')) partsByName.push(part);
    assert(Buffer.concat(partsByName).equals(data), 'downloadByName bytes differ');
    await bucket.delete(id);
    assertEq(await db.collection('files.chunks').countDocuments({ files_id: id }), 0, 'chunks after delete');
  });

  await check('drop collection', async () => {
    assertEq(await coll.drop(), true, 'drop()');
    const names = (await db.listCollections().toArray()).map((c) => c.name);
    assert(!names.includes('docs'), `docs still listed after drop: ${JSON.stringify(names)}`);
    assertEq(await coll.countDocuments(), 0, 'countDocuments after drop');
  });

  await check('dropDatabase', async () => {
    assertEq(await db.dropDatabase(), true, 'dropDatabase()');
    const res = await client.db('admin').admin().listDatabases();
    const names = res.databases.map((d) => d.name);
    assert(!names.includes(DB_NAME), `${DB_NAME} still listed after dropDatabase: ${JSON.stringify(names)}`);
  });

  await client.close().catch(() => {});
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.log(`FAILED check.js: ${describe(err)}`);
    console.log(`${passed} passed, ${failed + 1} failed`);
    process.exit(1);
  },
);
