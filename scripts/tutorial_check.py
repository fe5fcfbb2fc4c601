#!/usr/bin/python3
"""Cairn's own real-client check: Motor's asyncio tutorial, step by step.

Walks every step of Motor's asyncio tutorial (../shared/seed/tutorial-asyncio.rst)
with the real Motor client against the server at --uri, asserting on the
results instead of comparing printed output, and then the tutorial's web part:
a small aiohttp application serving pages from MongoDB and files from GridFS
(uploaded, downloaded byte-identical, served by motor.aiohttp.AIOHTTPGridFS,
and deleted).

Run it with Debian's Python and packages (Motor 2.3, PyMongo 3.11, aiohttp):

    apt-get install -y python3-motor python3-pymongo python3-gridfs python3-aiohttp
    /usr/bin/python3 scripts/tutorial_check.py --uri mongodb://127.0.0.1:27017

Everything happens in its own database (cairn_tutorial_check by default), which
is dropped at the start and at the end. Each check prints one line,
"<name> ... ok" or "<name> ... FAILED: <detail>"; the last line is
"N passed, M failed". Exit status: 0 if all passed, 1 if any failed, 2 if the
server could not be reached (every check is then FAILED, "not run").
"""

import argparse
import asyncio
import hashlib
import os
import sys
import traceback
import warnings

DEFAULT_DB = 'cairn_tutorial_check'
GRIDFS_SIZE = 3158073  # just over 3 MB: 13 chunks of 261120 bytes
CHUNK_SIZE = 261120

# Motor 2.3 on newer Pythons emits DeprecationWarnings; keep them on stderr
# and never let -W error turn them into failures.
warnings.simplefilter('default', DeprecationWarning)
# aiohttp warns that Motor's AIOHTTPGridFS handler is a callable object.
warnings.filterwarnings('ignore', message='Bare functions are deprecated', category=DeprecationWarning)

try:
    import aiohttp
    import aiohttp.web
    import gridfs
    import motor.aiohttp
    import motor.motor_asyncio
    import pymongo
    import pymongo.results
    import pymongo.uri_parser
    from bson import ObjectId, SON
except ImportError as exc:  # pragma: no cover - environment problem
    print('cannot import the client libraries (%s); install them with\n'
          '  apt-get install -y python3-motor python3-pymongo python3-gridfs '
          'python3-aiohttp\nand run this script with /usr/bin/python3' % exc,
          file=sys.stderr)
    sys.exit(2)


class CheckFailed(Exception):
    """A check's expectation was not met."""


def expect(cond, fmt, *args):
    if not cond:
        raise CheckFailed(fmt % args if args else fmt)


def expect_eq(got, want, what):
    expect(got == want, '%s: got %r, want %r', what, got, want)


def expect_doc(doc, want, what):
    """doc must equal want, keys in the same order (_id first)."""
    expect(doc is not None, '%s: no document', what)
    expect_eq(dict(doc), want, what)
    expect_eq(list(doc.keys()), list(want.keys()), what + ' (field order)')


# ---------------------------------------------------------------------------
# The tutorial, step by step. Each check is an async function of the shared
# state; checks run in order and later ones use what earlier ones stored.


class State:
    def __init__(self, uri, db_name):
        self.uri = uri
        self.db_name = db_name
        self.client = None
        self.db = None
        self.inserted_id = None
        self.http = None      # base URL of the aiohttp app
        self.runner = None    # aiohttp AppRunner
        self.web_client = None
        self.file_data = None
        self.file_id = None
        self.file_name = None


async def check_connect(s):
    # The tutorial's three ways to build a client, all aimed at --uri.
    s.client = motor.motor_asyncio.AsyncIOMotorClient(
        s.uri, serverSelectionTimeoutMS=5000)
    reply = await s.client.admin.command('ping')
    expect(reply.get('ok') == 1, 'ping reply %r', reply)
    parsed = pymongo.uri_parser.parse_uri(s.uri)
    if parsed.get('username') is None and len(parsed['nodelist']) == 1:
        # The tutorial's AsyncIOMotorClient('localhost', 27017) form.
        host, port = parsed['nodelist'][0]
        other = motor.motor_asyncio.AsyncIOMotorClient(
            host, port, serverSelectionTimeoutMS=5000)
        try:
            reply = await other.admin.command('ping')
            expect(reply.get('ok') == 1, 'AsyncIOMotorClient(host, port) ping reply %r', reply)
        finally:
            other.close()


async def check_database_and_collection(s):
    # Getting a database and a collection does no I/O, by attribute or item.
    expect_eq(s.client.test_database.name, 'test_database', 'client.test_database')
    expect_eq(s.client['test_database'].name, 'test_database', "client['test_database']")
    s.db = s.client[s.db_name]
    expect_eq(s.db.test_collection.name, 'test_collection', 'db.test_collection')
    expect_eq(s.db['test_collection'].full_name, s.db_name + '.test_collection',
              "db['test_collection'].full_name")
    await s.client.drop_database(s.db_name)
    names = await s.client.list_database_names()
    expect(s.db_name not in names, 'database %s still listed after drop: %r', s.db_name, names)


async def check_insert_one(s):
    result = await s.db.test_collection.insert_one({'key': 'value'})
    expect(isinstance(result.inserted_id, ObjectId),
           'inserted_id %r is not an ObjectId', result.inserted_id)
    expect(result.acknowledged, 'insert_one not acknowledged')
    s.inserted_id = result.inserted_id
    doc = await s.db.test_collection.find_one({'_id': s.inserted_id})
    expect_doc(doc, {'_id': s.inserted_id, 'key': 'value'}, 'document read back')


async def check_delete_all(s):
    # The tutorial's hidden clean-up block, with a synchronous PyMongo client.
    sync = pymongo.MongoClient(s.uri, serverSelectionTimeoutMS=5000)
    try:
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(
            None, lambda: sync[s.db_name].test_collection.delete_many({}))
    finally:
        sync.close()
    expect(isinstance(result, pymongo.results.DeleteResult), 'got %r', result)
    expect(repr(result).startswith('<pymongo.results.DeleteResult '), 'repr %r', repr(result))
    expect_eq(result.deleted_count, 1, 'deleted_count')
    expect_eq(await s.db.test_collection.count_documents({}), 0, 'documents left')


async def check_insert_many(s):
    result = await s.db.test_collection.insert_many([{'i': i} for i in range(2000)])
    ids = result.inserted_ids
    expect_eq(len(ids), 2000, 'len(inserted_ids)')
    expect(all(isinstance(i, ObjectId) for i in ids), 'not all inserted ids are ObjectIds')
    expect_eq(len(set(ids)), 2000, 'distinct inserted ids')
    expect_eq(await s.db.test_collection.count_documents({}), 2000, 'count after insert_many')


async def check_find_one(s):
    doc = await s.db.test_collection.find_one({'i': {'$lt': 1}})
    expect(doc is not None, 'no document with i < 1')
    expect(isinstance(doc.get('_id'), ObjectId), '_id %r is not an ObjectId', doc.get('_id'))
    expect_doc(doc, {'_id': doc['_id'], 'i': 0}, "find_one({'i': {'$lt': 1}})")


async def check_find_sort_to_list(s):
    cursor = s.db.test_collection.find({'i': {'$lt': 5}}).sort('i')
    docs = await cursor.to_list(length=100)
    expect_eq([d.get('i') for d in docs], [0, 1, 2, 3, 4], 'i values')
    for d in docs:
        expect_doc(d, {'_id': d.get('_id'), 'i': d.get('i')}, 'document')
        expect(isinstance(d['_id'], ObjectId), '_id %r is not an ObjectId', d['_id'])


async def check_to_list_length(s):
    # to_list's length caps what Motor buffers.
    docs = await s.db.test_collection.find({}).sort('i').to_list(length=100)
    expect_eq(len(docs), 100, 'to_list(length=100) over 2000 documents')
    expect_eq([d['i'] for d in docs], list(range(100)), 'i values')


async def check_async_for(s):
    got = []
    async for document in s.db.test_collection.find({'i': {'$lt': 2}}):
        got.append(document)
    expect_eq([d.get('i') for d in got], [0, 1], 'i values in natural order')
    for d in got:
        expect_doc(d, {'_id': d.get('_id'), 'i': d.get('i')}, 'document')


async def check_sort_skip_limit(s):
    cursor = s.db.test_collection.find({'i': {'$lt': 4}})
    cursor.sort('i', -1).skip(1).limit(2)
    got = [d.get('i') async for d in cursor]
    expect_eq(got, [2, 1], 'i values')


async def check_many_batches(s):
    # The cursor fetches in batches; all 2000 must come through, once each.
    seen = []
    async for d in s.db.test_collection.find({}, batch_size=150):
        seen.append(d['i'])
    expect_eq(len(seen), 2000, 'documents iterated')
    expect_eq(sorted(seen), list(range(2000)), 'i values')


async def check_count_documents(s):
    expect_eq(await s.db.test_collection.count_documents({}), 2000, 'count_documents({})')
    expect_eq(await s.db.test_collection.count_documents({'i': {'$gt': 1000}}), 999,
              "count_documents({'i': {'$gt': 1000}})")


async def check_replace_one(s):
    coll = s.db.test_collection
    old = await coll.find_one({'i': 50})
    expect(old is not None, 'no document with i 50')
    expect_doc(old, {'_id': old['_id'], 'i': 50}, 'found document')
    _id = old['_id']
    result = await coll.replace_one({'_id': _id}, {'key': 'value'})
    expect_eq(result.matched_count, 1, 'matched_count')
    expect_eq(result.modified_count, 1, 'modified_count')
    new = await coll.find_one({'_id': _id})
    expect_doc(new, {'_id': _id, 'key': 'value'}, 'document after replace_one')


async def check_update_one(s):
    coll = s.db.test_collection
    result = await coll.update_one({'i': 51}, {'$set': {'key': 'value'}})
    expect_eq(result.matched_count, 1, 'matched_count')
    expect_eq(result.modified_count, 1, 'modified_count')
    doc = await coll.find_one({'i': 51})
    expect(doc is not None, 'no document with i 51 after the update')
    expect_doc(doc, {'_id': doc['_id'], 'i': 51, 'key': 'value'}, 'document after update_one')


async def check_update_many(s):
    # The tutorial's (non-doctest) update_many example.
    coll = s.db.test_collection
    result = await coll.update_many({'i': {'$gt': 100}}, {'$set': {'key': 'value'}})
    expect_eq(result.matched_count, 1899, 'matched_count')
    expect_eq(result.modified_count, 1899, 'modified_count')
    n = await coll.count_documents({'key': 'value'})
    expect_eq(n, 1899 + 2, "documents with key 'value' (1899 + the replaced and updated ones)")
    doc = await coll.find_one({'i': 1500})
    expect_doc(doc, {'_id': doc and doc.get('_id'), 'i': 1500, 'key': 'value'}, 'document i 1500')


async def check_delete_many(s):
    coll = s.db.test_collection
    expect_eq(await coll.count_documents({}), 2000, 'documents before delete_many')
    result = await coll.delete_many({'i': {'$gte': 1000}})
    expect_eq(result.deleted_count, 1000, 'deleted_count')
    expect_eq(await coll.count_documents({}), 1000, 'documents after delete_many')


async def check_distinct_command(s):
    response = await s.db.command(SON([('distinct', 'test_collection'), ('key', 'i')]))
    expect_eq(response.get('ok'), 1.0, 'ok')
    values = response.get('values')
    expect(isinstance(values, list), 'values %r is not a list', values)
    want = [i for i in range(1000) if i != 50]  # i 50 was replaced by {'key': 'value'}
    expect_eq(sorted(values), want, 'distinct values of i')
    expect_eq(sorted(await s.db.test_collection.distinct('i')), want, 'collection.distinct')


# ---------------------------------------------------------------------------
# The web part: an aiohttp application serving pages from MongoDB and files
# from GridFS.


async def setup_db(db):
    """As the tutorial describes: drop "pages", insert two pages."""
    await db.pages.drop()
    await db.pages.insert_one({'_id': 'page-one', 'body': '<html><body>Hello!</body></html>'})
    await db.pages.insert_one({'_id': 'page-two', 'body': '<html><body>Goodbye.</body></html>'})
    return db


@aiohttp.web.middleware
async def errors_as_500(request, handler):
    try:
        return await handler(request)
    except aiohttp.web.HTTPException:
        raise
    except Exception as exc:  # driver or server error: show it to the check
        return aiohttp.web.Response(status=500, text='%s: %s' % (type(exc).__name__, exc))


def make_app(db):
    app = aiohttp.web.Application(middlewares=[errors_as_500], client_max_size=16 << 20)
    bucket = motor.motor_asyncio.AsyncIOMotorGridFSBucket(db)

    async def page_handler(request):
        page = await db.pages.find_one({'_id': request.match_info['page_name']})
        if page is None:
            raise aiohttp.web.HTTPNotFound(text='no such page')
        return aiohttp.web.Response(text=page['body'], content_type='text/html')

    async def upload(request):
        name = request.query.get('filename', 'upload.bin')
        grid_in = bucket.open_upload_stream(name, metadata={'contentType': 'application/octet-stream'})
        try:
            async for chunk in request.content.iter_chunked(64 * 1024):
                await grid_in.write(chunk)
        except BaseException:
            await grid_in.abort()
            raise
        await grid_in.close()
        return aiohttp.web.json_response({'_id': str(grid_in._id)}, status=201)

    def file_id(request):
        try:
            return ObjectId(request.match_info['id'])
        except Exception:
            raise aiohttp.web.HTTPNotFound(text='bad file id')

    async def download(request):
        try:
            grid_out = await bucket.open_download_stream(file_id(request))
        except gridfs.NoFile:
            raise aiohttp.web.HTTPNotFound(text='no such file')
        resp = aiohttp.web.StreamResponse()
        resp.content_type = 'application/octet-stream'
        resp.content_length = grid_out.length
        await resp.prepare(request)
        while True:
            chunk = await grid_out.readchunk()
            if not chunk:
                break
            await resp.write(chunk)
        await resp.write_eof()
        return resp

    async def delete(request):
        try:
            await bucket.delete(file_id(request))
        except gridfs.NoFile:
            raise aiohttp.web.HTTPNotFound(text='no such file')
        return aiohttp.web.Response(status=204)

    app.router.add_get('/pages/{page_name}', page_handler)
    app.router.add_post('/files', upload)
    app.router.add_get('/files/{id}', download)
    app.router.add_delete('/files/{id}', delete)
    # Motor's own GridFS handler, as in the tutorial's aiohttp GridFS example.
    gridfs_handler = motor.aiohttp.AIOHTTPGridFS(db)
    resource = app.router.add_resource('/fs/{filename}')
    resource.add_route('GET', gridfs_handler)
    resource.add_route('HEAD', gridfs_handler)
    return app


async def check_web_setup(s):
    await setup_db(s.db)
    pages = await s.db.pages.find({}).sort('_id').to_list(length=10)
    expect_eq([p['_id'] for p in pages], ['page-one', 'page-two'], 'pages after setup_db')
    s.runner = aiohttp.web.AppRunner(make_app(s.db))
    await s.runner.setup()
    site = aiohttp.web.TCPSite(s.runner, '127.0.0.1', 0)
    await site.start()
    port = s.runner.addresses[0][1]
    s.http = 'http://127.0.0.1:%d' % port
    s.web_client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))


async def http_get(s, path, **kw):
    expect(s.web_client is not None, 'web app not running (its setup failed)')
    async with s.web_client.get(s.http + path, **kw) as resp:
        return resp.status, resp.headers, await resp.read()


async def check_page_one(s):
    status, _, body = await http_get(s, '/pages/page-one')
    expect_eq(status, 200, 'GET /pages/page-one status (body %r)' % body[:200])
    expect(b'Hello!' in body, 'body %r lacks Hello!', body)


async def check_page_two(s):
    status, _, body = await http_get(s, '/pages/page-two')
    expect_eq(status, 200, 'GET /pages/page-two status (body %r)' % body[:200])
    expect(b'Goodbye.' in body, 'body %r lacks Goodbye.', body)


async def check_page_missing(s):
    status, _, body = await http_get(s, '/pages/nope')
    expect_eq(status, 404, 'GET /pages/nope status (body %r)' % body[:200])


async def check_gridfs_upload(s):
    expect(s.web_client is not None, 'web app not running (its setup failed)')
    s.file_data = os.urandom(GRIDFS_SIZE)
    s.file_name = 'tutorial-check-%s.bin' % os.urandom(4).hex()
    async with s.web_client.post(s.http + '/files', params={'filename': s.file_name},
                                 data=s.file_data) as resp:
        body = await resp.read()
        expect_eq(resp.status, 201, 'POST /files status (body %r)' % body[:300])
        s.file_id = ObjectId((await resp.json())['_id'])
    meta = await s.db.fs.files.find_one({'_id': s.file_id})
    expect(meta is not None, 'no fs.files document for %s', s.file_id)
    expect_eq(meta.get('length'), GRIDFS_SIZE, 'fs.files length')
    expect_eq(meta.get('chunkSize'), CHUNK_SIZE, 'fs.files chunkSize')
    expect_eq(meta.get('filename'), s.file_name, 'fs.files filename')
    expect_eq(meta.get('md5'), hashlib.md5(s.file_data).hexdigest(), 'fs.files md5')
    chunks = await s.db.fs.chunks.find({'files_id': s.file_id}, {'n': 1}).sort('n').to_list(length=100)
    expect_eq([c['n'] for c in chunks], list(range(13)), 'fs.chunks n values')


async def check_gridfs_download(s):
    expect(s.file_id is not None, 'not run: the upload failed')
    status, _, body = await http_get(s, '/files/%s' % s.file_id)
    expect_eq(status, 200, 'GET /files/<id> status (body %r)' % body[:300])
    expect_eq(len(body), GRIDFS_SIZE, 'downloaded length')
    expect(hashlib.sha256(body).digest() == hashlib.sha256(s.file_data).digest(),
           'downloaded bytes differ from the upload')
    # And straight through the bucket, without HTTP.
    bucket = motor.motor_asyncio.AsyncIOMotorGridFSBucket(s.db)
    grid_out = await bucket.open_download_stream(s.file_id)
    data = await grid_out.read()
    expect(data == s.file_data, 'bucket read differs from the upload (%d bytes)', len(data))


async def check_gridfs_motor_handler(s):
    expect(s.file_id is not None, 'not run: the upload failed')
    status, headers, body = await http_get(s, '/fs/%s' % s.file_name)
    expect_eq(status, 200, 'AIOHTTPGridFS GET status (body %r)' % body[:300])
    expect(body == s.file_data, 'AIOHTTPGridFS served %d bytes that differ from the upload', len(body))
    etag = headers.get('Etag', '')
    expect_eq(etag.strip('"'), hashlib.md5(s.file_data).hexdigest(), 'Etag')
    status, _, body = await http_get(s, '/fs/%s' % s.file_name, headers={'If-None-Match': etag})
    expect_eq(status, 304, 'GET with If-None-Match status')
    async with s.web_client.head(s.http + '/fs/%s' % s.file_name) as resp:
        expect_eq(resp.status, 200, 'HEAD status')
        expect_eq(resp.headers.get('Content-Length'), str(GRIDFS_SIZE), 'HEAD Content-Length')
    status, _, _ = await http_get(s, '/fs/no-such-file.bin')
    expect_eq(status, 404, 'AIOHTTPGridFS status for a missing file')


async def check_gridfs_delete(s):
    expect(s.file_id is not None, 'not run: the upload failed')
    async with s.web_client.delete(s.http + '/files/%s' % s.file_id) as resp:
        body = await resp.read()
        expect_eq(resp.status, 204, 'DELETE /files/<id> status (body %r)' % body[:300])
    expect_eq(await s.db.fs.chunks.count_documents({'files_id': s.file_id}), 0, 'chunks left')
    expect_eq(await s.db.fs.files.find_one({'_id': s.file_id}), None, 'fs.files document left')
    status, _, _ = await http_get(s, '/files/%s' % s.file_id)
    expect_eq(status, 404, 'GET after DELETE status')


async def check_cleanup(s):
    await s.client.drop_database(s.db_name)
    names = await s.client.list_database_names()
    expect(s.db_name not in names, 'database %s still listed after drop', s.db_name)


CHECKS = [
    ('connect: AsyncIOMotorClient(uri) and (host, port) answer ping', check_connect),
    ('get a database and a collection (no I/O)', check_database_and_collection),
    ('insert_one returns an ObjectId', check_insert_one),
    ('delete_many({}) with PyMongo clears the collection', check_delete_all),
    ('insert_many of 2000 documents', check_insert_many),
    ("find_one({'i': {'$lt': 1}}) is {'_id': ObjectId, 'i': 0}", check_find_one),
    ("find({'i': {'$lt': 5}}).sort('i').to_list(100)", check_find_sort_to_list),
    ('to_list(length=100) stops at 100', check_to_list_length),
    ("async for over find({'i': {'$lt': 2}})", check_async_for),
    ("sort('i', -1).skip(1).limit(2) gives i 2 then 1", check_sort_skip_limit),
    ('async for over 2000 documents in batches of 150', check_many_batches),
    ('count_documents: 2000 in all, 999 with i > 1000', check_count_documents),
    ('replace_one keeps _id, modified_count 1', check_replace_one),
    ("update_one $set on i 51", check_update_one),
    ("update_many $set on i > 100", check_update_many),
    ("delete_many({'i': {'$gte': 1000}}) leaves 1000", check_delete_many),
    ("command(SON([('distinct', 'test_collection'), ('key', 'i')]))", check_distinct_command),
    ('web: setup_db and start the aiohttp app', check_web_setup),
    ('web: GET /pages/page-one', check_page_one),
    ('web: GET /pages/page-two', check_page_two),
    ('web: GET /pages/nope is 404', check_page_missing),
    ('gridfs: upload %d bytes through AsyncIOMotorGridFSBucket' % GRIDFS_SIZE, check_gridfs_upload),
    ('gridfs: download is byte-identical', check_gridfs_download),
    ('gridfs: motor.aiohttp.AIOHTTPGridFS serves it', check_gridfs_motor_handler),
    ('gridfs: delete removes file and chunks', check_gridfs_delete),
    ('cleanup: drop the database', check_cleanup),
]


async def run(args):
    s = State(args.uri, args.db)
    passed = failed = 0
    reachable = True
    try:
        for i, (name, fn) in enumerate(CHECKS):
            if not reachable:
                print('%s ... FAILED: not run (server unreachable)' % name, flush=True)
                failed += 1
                continue
            try:
                await asyncio.wait_for(fn(s), args.timeout)
            except CheckFailed as exc:
                print('%s ... FAILED: %s' % (name, exc), flush=True)
                failed += 1
            except asyncio.TimeoutError:
                print('%s ... FAILED: timed out after %ss' % (name, args.timeout), flush=True)
                failed += 1
            except Exception as exc:
                detail = ''.join(traceback.format_exception_only(type(exc), exc)).strip()
                print('%s ... FAILED: %s' % (name, detail), flush=True)
                if args.verbose:
                    traceback.print_exc()
                failed += 1
                if i == 0:
                    reachable = False
            else:
                print('%s ... ok' % name, flush=True)
                passed += 1
    finally:
        if s.web_client is not None:
            await s.web_client.close()
        if s.runner is not None:
            await s.runner.cleanup()
        if s.client is not None:
            s.client.close()
    print('%d passed, %d failed' % (passed, failed), flush=True)
    if not reachable:
        return 2
    return 1 if failed else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--uri', default=os.environ.get('MONGODB_URI', 'mongodb://127.0.0.1:27017'),
                        help='server to check (default: $MONGODB_URI or mongodb://127.0.0.1:27017)')
    parser.add_argument('--db', default=DEFAULT_DB, help='database to use (dropped at start and end)')
    parser.add_argument('--timeout', type=float, default=60, help='seconds allowed per check')
    parser.add_argument('-v', '--verbose', action='store_true', help='print tracebacks')
    args = parser.parse_args(argv)
    # Motor 2.3 binds to the current event loop when a client is built: set
    # one up front rather than let asyncio create one implicitly.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(run(args))
    finally:
        loop.close()


if __name__ == '__main__':
    sys.exit(main())
